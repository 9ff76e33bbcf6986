import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the gateway; one registry per process, passed where needed (no global default). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'team' | 'model' | 'provider' | 'status'>;
  readonly latency: Histogram<'team' | 'model' | 'provider' | 'status'>;
  readonly tokens: Counter<'team' | 'model' | 'provider' | 'kind'>;
  readonly variantRequests: Counter<'model' | 'variant' | 'status'>;
  readonly attempts: Counter<'model' | 'provider' | 'status'>;
  readonly outputFindings: Counter<'type' | 'action'>;
  readonly cacheVerifications: Counter<'outcome'>;
  readonly timeToFirstChunk: Histogram<'provider' | 'model'>;
  readonly interChunk: Histogram<'provider' | 'model'>;
  readonly outputTokensPerSecond: Histogram<'provider' | 'model'>;
  readonly cacheRequests: Counter<'status'>;
  readonly cacheSavedUsd: Counter<'team'>;
  readonly policyDecisions: Counter<'outcome'>;
  readonly fallbacks: Counter<'model'>;
  readonly guardrailLatency: Histogram<'guardrail' | 'direction'>;
  readonly guardrailVerdicts: Counter<'guardrail' | 'direction' | 'verdict'>;
  readonly extprocPhase: Histogram<'filter' | 'phase'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tollgate_process_' });
    this.requests = new Counter({
      name: 'tollgate_requests_total',
      help: 'Requests handled, by team, model, provider and HTTP status.',
      labelNames: ['team', 'model', 'provider', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from request headers to the end of the response, as seen by Tollgate.',
      labelNames: ['team', 'model', 'provider', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [this.registry],
    });
    this.variantRequests = new Counter({
      name: 'tollgate_variant_requests_total',
      help: 'Requests to A/B-tested models, by model (the alias asked for), assigned variant and HTTP status.',
      labelNames: ['model', 'variant', 'status'],
      registers: [this.registry],
    });
    this.attempts = new Counter({
      name: 'tollgate_provider_attempts_total',
      help: 'Provider attempts (retries and fallbacks each add one), by model asked for, provider and attempt status (none: unknown or no answer).',
      labelNames: ['model', 'provider', 'status'],
      registers: [this.registry],
    });
    this.tokens = new Counter({
      name: 'tollgate_tokens_total',
      help: 'Tokens reported by providers, by kind (prompt, completion).',
      labelNames: ['team', 'model', 'provider', 'kind'],
      registers: [this.registry],
    });
    this.outputFindings = new Counter({
      name: 'tollgate_output_guardrail_findings_total',
      help: 'Values the output guardrails found in answers, by type and what was done (redacted, blocked, found).',
      labelNames: ['type', 'action'],
      registers: [this.registry],
    });
    // Streams only: what the caller waits for before text appears, and the pace after it.
    this.timeToFirstChunk = new Histogram({
      name: 'tollgate_stream_time_to_first_chunk_seconds',
      help: 'Streams: time from the request to the first body chunk (time to first token), by provider and model.',
      labelNames: ['provider', 'model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers: [this.registry],
    });
    this.interChunk = new Histogram({
      name: 'tollgate_stream_inter_chunk_seconds',
      help: 'Streams: mean gap between body chunks of one stream (inter-token latency), by provider and model.',
      labelNames: ['provider', 'model'],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      registers: [this.registry],
    });
    this.outputTokensPerSecond = new Histogram({
      name: 'tollgate_output_tokens_per_second',
      help: 'Completion tokens per second of generation (first to last chunk for streams, whole request otherwise).',
      labelNames: ['provider', 'model'],
      buckets: [5, 10, 20, 40, 80, 160, 320, 640],
      registers: [this.registry],
    });
    this.cacheRequests = new Counter({
      name: 'tollgate_cache_requests_total',
      help: 'What the response cache did per chat request: hit, miss, bypass, stale, default.',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.cacheSavedUsd = new Counter({
      name: 'tollgate_cache_saved_usd_total',
      help: 'What cache hits would have cost at the provider, by team.',
      labelNames: ['team'],
      registers: [this.registry],
    });
    this.policyDecisions = new Counter({
      name: 'tollgate_policy_decisions_total',
      help: 'Policy decisions: allow or deny (the audit log holds each decision with its reasons).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.fallbacks = new Counter({
      name: 'tollgate_fallbacks_total',
      help: 'Requests answered by another provider than the first one tried, by public model.',
      labelNames: ['model'],
      registers: [this.registry],
    });
    this.cacheVerifications = new Counter({
      name: 'tollgate_cache_semantic_verifications_total',
      help: 'Would-be semantic hits of error-bounded rules sent to the provider and checked: stored answer agreed or disagreed.',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.guardrailLatency = new Histogram({
      name: 'tollgate_guardrail_duration_seconds',
      help: 'Time of one external guardrail call (timeouts included), by guardrail and direction (input, output).',
      labelNames: ['guardrail', 'direction'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.guardrailVerdicts = new Counter({
      name: 'tollgate_guardrail_verdicts_total',
      help: 'External guardrail verdicts: pass, flagged, failed_open (timeout or error, let through), failed_closed (refused).',
      labelNames: ['guardrail', 'direction', 'verdict'],
      registers: [this.registry],
    });
    this.extprocPhase = new Histogram({
      name: 'tollgate_extproc_phase_duration_seconds',
      help: 'Time Tollgate takes to answer one ext_proc message, by filter (request, upstream) and phase (request_headers, request_body, response_headers, response_body).',
      labelNames: ['filter', 'phase'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
  }
}
