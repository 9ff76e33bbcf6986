import type { Logger } from 'pino';
import type { ConfigHolder } from '../config/config-holder.ts';
import { renderOpenAIError, toGatewayError } from '../errors/render.ts';
import { errors } from '../errors/errors.ts';
import { ANSWERING_MODEL_ATTRIBUTE, ANSWERING_PROVIDER_ATTRIBUTE, CASCADE_ATTRIBUTE, FALLBACK_EVERY_ATTRIBUTE } from '../extproc/attributes.ts';
import type { CascadeConfig } from '../config/types.ts';
import { answerContent, escalationReason, requestedSchema, validatorRejects } from '../routing/cascade.ts';
import type { Attempt } from '../pipeline/context.ts';
import type { Attributes, PhaseEvent, PhaseReply, StreamHandler, StreamHandlerFactory } from '../pipeline/phases.ts';
import { decodeJsonBody } from '../pipeline/runner.ts';
import type { CredentialResolver } from '../providers/credentials.ts';
import { PROVIDER_REQUEST_HEADERS } from '../providers/registry.ts';
import { translateForProvider } from '../providers/translate.ts';
import type { AttemptLog } from './attempt-log.ts';
import { takeResponsesMarker } from '../responses/chain-marker.ts';
import { ATTEMPT_MODE, RETRY_HINT_MODE } from '../envoy/clusters.ts';
import { requestIdHeaders } from '../envoy/response-headers.ts';
import { providerAdapter } from '../providers/registry.ts';
import { SPAN_STATUS, TRACEPARENT_HEADER, type Span, type Tracing } from '../observability/tracing.ts';

/** Statuses whose retry hint the client gets as Retry-After. */
const RETRY_HINT_STATUSES: ReadonlySet<number> = new Set([429, 503]);

export interface AttemptHandlerDeps {
  config: ConfigHolder;
  credentials: CredentialResolver;
  attempts: AttemptLog;
  logger: Logger;
  /** A span per attempt (config `tracing`); absent when tracing is off. */
  tracing?: Tracing;
}


/**
 * One attempt of a fallback chain, seen by the upstream ext_proc filter (Envoy runs it on every attempt, after it
 * chose the endpoint). The request-level filter left the body in OpenAI format; this translates it for the provider
 * Envoy picked — path, credential, body — and notes the attempt and its status. Stateless apart from the attempt
 * log: everything it needs comes with the attempt (endpoint metadata, the buffered body).
 */
class AttemptHandler implements StreamHandler {
  private readonly deps: AttemptHandlerDeps;
  private requestId = '';
  private provider = '';
  private model = '';
  /** The chain moves to its next priority after every this many attempts; 0 in the chain's last priority. */
  private fallbackEvery = 0;
  private attempt: Attempt | null = null;
  /** Set on a 429/503 from a provider whose retry hint is in the body: reads it from the (buffered) body. */
  private readHint: ((body: Buffer) => number | null) | null = null;
  /** A cascade step before the last: its cascade (what escalates its answer), and what the request asked of it. */
  private cascade: CascadeConfig | null = null;
  private schema: unknown = null;
  private streamed = false;
  /** Set on a cascade step's 200: its (buffered) answer is checked before it may leave. */
  private checkAnswer = false;
  /** The stream's trace context (Envoy's span of this attempt) and this attempt's span, when tracing is on. */
  private readonly traceparent: string | undefined;
  private span: Span | null = null;

  constructor(deps: AttemptHandlerDeps, traceparent: string | undefined) {
    this.deps = deps;
    this.traceparent = traceparent;
  }

  handle(event: PhaseEvent): PhaseReply | Promise<PhaseReply> {
    try {
      switch (event.phase) {
        case 'request_headers':
          return this.onHeaders(event.headers, event.attributes);
        case 'request_body':
          return this.onBody(event.body);
        case 'response_headers':
          return this.onResponseHeaders(event.headers, event.attributes);
        case 'response_body':
          return this.onResponseBody(event.body);
      }
    } catch (error) {
      const gatewayError = toGatewayError(error);
      if (gatewayError.status >= 500) this.deps.logger.error({ err: error, request_id: this.requestId }, 'attempt translation failed');
      // An immediate reply from the upstream filter ends the request (Envoy does not retry it).
      return renderOpenAIError(gatewayError, requestIdHeaders(this.requestId));
    }
  }

  close(): void {
    if (!this.span) return;
    const status = this.attempt?.status ?? null;
    if (status !== null) this.span.setAttribute('http.response.status_code', status);
    // A failed attempt (a fallback or retry follows) stands out in the trace.
    if (status === null || status >= 500 || status === 429) this.span.setStatus(SPAN_STATUS.error, status === null ? 'no answer' : String(status));
    this.span.end();
    this.span = null;
  }

  /**
   * The attempt's status; on a 429/503 from a provider that gives its retry hint only in the body (Gemini), the body
   * is asked for whole (BUFFERED), so the hint can still become a header before the response leaves this filter.
   * Also the only message of the retry-hint filter on such a provider's own cluster (no request phase there).
   * Notes the attempt's status, and drops a Retry-After before a chain's fallback (below).
   */
  private onResponseHeaders(headers: Map<string, string>, attributes: Attributes | undefined): PhaseReply {
    const status = Number(headers.get(':status') ?? 0) || null;
    if (this.attempt) this.attempt.status = status;
    // A provider's Retry-After makes Envoy wait before the next attempt, which is right for a retry on the same
    // provider but not for the move to the next provider of the chain: on the last attempt before Envoy moves on
    // (every 1 + retries attempts, as previous_priorities' update_frequency), the header goes.
    if (this.fallbackEvery > 0 && headers.has('retry-after') && this.deps.attempts.count(this.requestId) % this.fallbackEvery === 0) {
      return { kind: 'continue', phase: 'response_headers', headers: { set: [], remove: ['retry-after'] } };
    }
    if (this.cascade && status === 200 && !this.streamed && this.attempt) {
      this.checkAnswer = true;
      return { kind: 'continue', phase: 'response_headers', modeOverride: { ...ATTEMPT_MODE, response_body_mode: 'BUFFERED' } };
    }
    const providerName = this.provider || String(attributes?.[ANSWERING_PROVIDER_ATTRIBUTE] ?? '');
    const type = this.deps.config.catalog().provider(providerName)?.config.type;
    const read = type ? providerAdapter(type).retryAfterFromBody : undefined;
    if (!read || status === null || !RETRY_HINT_STATUSES.has(status) || headers.has('retry-after')) {
      return { kind: 'continue', phase: 'response_headers' };
    }
    this.readHint = read;
    // Envoy replaces the whole mode: repeat the filter's own, with the response body buffered.
    const mode = this.attempt ? ATTEMPT_MODE : RETRY_HINT_MODE;
    return { kind: 'continue', phase: 'response_headers', modeOverride: { ...mode, response_body_mode: 'BUFFERED' } };
  }

  private onResponseBody(body: Buffer): PhaseReply | Promise<PhaseReply> {
    // A check that fails delivers the step's answer: it is a valid answer, only unverified.
    if (this.checkAnswer) {
      return this.checkCascadeAnswer(body).catch((error: unknown): PhaseReply => {
        this.deps.logger.warn({ err: error, request_id: this.requestId }, 'cascade check failed; delivering the answer');
        return { kind: 'continue', phase: 'response_body' };
      });
    }
    const seconds = this.readHint?.(body) ?? null;
    this.readHint = null;
    if (!seconds) return { kind: 'continue', phase: 'response_body' };
    return { kind: 'continue', phase: 'response_body', headers: { set: [['retry-after', String(seconds)]], remove: [] } };
  }

  /**
   * A cascade step's answer: delivered, or, when it shows a declared signal, turned into a 503 that Envoy's router
   * treats like a failed attempt (it discards the answer and moves to the next step). The attempt keeps its usage,
   * so the ledger and the cost count the escalated step too.
   */
  private async checkCascadeAnswer(body: Buffer): Promise<PhaseReply> {
    this.checkAnswer = false;
    const providerConfig = this.deps.config.catalog().provider(this.provider)?.config;
    const cascade = this.cascade;
    if (!providerConfig || !this.attempt || !cascade) return { kind: 'continue', phase: 'response_body' };
    // The step's answer in OpenAI form, as the client would get it (a no-op for OpenAI-compatible providers).
    const translator = providerAdapter(providerConfig.type).translateResponse({
      responsesDialect: false, endpoint: 'chat', stream: false, status: 200, clientWantsUsage: false,
      requestId: this.requestId, createdAt: Math.floor(Date.now() / 1000), upstreamModel: this.model,
    });
    const answer = translator.onChunk(body, true) ?? body;
    let reason = escalationReason(answer, cascade.escalate_on, this.schema, cascade.min_mean_logprob);
    if (!reason && cascade.validator && cascade.escalate_on.includes('validator')) {
      const content = answerContent(answer);
      if (content !== null && await validatorRejects(cascade.validator, this.model, content)) reason = 'validator';
    }
    if (!reason) return { kind: 'continue', phase: 'response_body' };
    this.attempt.escalated = reason;
    if (translator.usage) this.attempt.usage = translator.usage;
    return { kind: 'continue', phase: 'response_body', headers: { set: [[':status', '503'], ['x-tollgate-escalated', reason]], remove: [] } };
  }

  private onHeaders(headers: Map<string, string>, attributes: Attributes | undefined): PhaseReply {
    this.requestId = headers.get('x-request-id') ?? '';
    this.provider = String(attributes?.[ANSWERING_PROVIDER_ATTRIBUTE] ?? '');
    this.model = String(attributes?.[ANSWERING_MODEL_ATTRIBUTE] ?? '');
    this.fallbackEvery = Number(attributes?.[FALLBACK_EVERY_ATTRIBUTE] ?? 0) || 0;
    const cascadeModel = String(attributes?.[CASCADE_ATTRIBUTE] ?? '');
    const models = this.deps.config.catalog().config.models;
    this.cascade = cascadeModel && Object.hasOwn(models, cascadeModel) ? models[cascadeModel]?.cascade ?? null : null;
    if (!this.provider || !this.model) throw new Error('upstream attempt without endpoint metadata');
    this.attempt = this.deps.attempts.begin(this.requestId, this.provider, this.model);
    if (this.deps.tracing) {
      // Envoy's router wrote this attempt's span into the request before the upstream filters ran: the attempt span
      // goes under it, so each attempt in Envoy has Tollgate's translation beneath it (the gRPC metadata only names
      // the ext_proc call's span, a child of the request's server span).
      this.span = this.deps.tracing.startAttempt(headers.get(TRACEPARENT_HEADER) ?? this.traceparent, {
        'tollgate.request_id': this.requestId, 'tollgate.provider': this.provider, 'gen_ai.request.model': this.model,
        'tollgate.attempt': this.deps.attempts.count(this.requestId),
      });
    }
    return { kind: 'continue', phase: 'request_headers' };
  }

  private onBody(raw: Buffer): PhaseReply {
    const provider = this.deps.config.catalog().provider(this.provider);
    if (!provider) throw errors.providerUnavailable(this.provider, 'it is no longer configured');
    const body = decodeJsonBody(raw);
    const responses = takeResponsesMarker(body);
    if (this.cascade) {
      this.schema = requestedSchema(body);
      this.streamed = body.stream === true;
    }
    // Envoy replays the original body on every attempt, but the path it sends is what the previous attempt made of
    // it; the body tells the endpoint (the request-level filter validated it: chat has messages, embeddings input).
    const endpoint = Array.isArray(body.messages) ? 'chat' : 'embeddings';
    const outgoing = translateForProvider(provider, this.model, { endpoint, body, stream: body.stream === true, ...(responses ? { responses } : {}) }, this.deps.credentials);
    const translated = Buffer.from(JSON.stringify(outgoing.body));
    return {
      kind: 'continue',
      phase: 'request_body',
      headers: {
        set: [
          [':path', outgoing.path],
          ['content-type', 'application/json'],
          ['content-length', String(translated.length)],
          ...Object.entries(outgoing.headers),
        ],
        // Headers a previous attempt set for another provider go (Envoy keeps them across attempts), and the client's
        // Tollgate key never goes to a provider (the request-level filter removes it too).
        remove: [...new Set([...PROVIDER_REQUEST_HEADERS, ...outgoing.removeHeaders])].filter((name) => !(name in outgoing.headers)),
      },
      body: translated,
    };
  }
}

export function createAttemptHandler(deps: AttemptHandlerDeps): StreamHandlerFactory {
  return (traceparent) => new AttemptHandler(deps, traceparent);
}
