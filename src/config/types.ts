import type { CacheConfig } from '../cache/config.ts';
import type { LedgerConfig } from '../ledger/config.ts';
import type { PolicyConfig } from '../policy/config.ts';
import type { ExternalGuardrailConfig } from '../guardrails/external/config.ts';
import type { OutputGuardrailsConfig } from '../guardrails/output/config.ts';
import type { QuotasConfig } from '../quota/config.ts';
import type { TracingConfig } from '../observability/tracing-config.ts';

/** The validated shape of config/tollgate.yaml (see schema.ts for the JSON Schema that enforces it). */
interface ProviderCommon {
  base_url: string;
  /** Name of an env var holding the provider credential. */
  api_key_env?: string;
  /** Path of a file holding the provider credential (e.g. a mounted secret). */
  api_key_file?: string;
  /** Where the provider serves (e.g. `eu`, `us`): policies may require a region. */
  region?: string;
  connect_timeout_ms?: number;
  /** More endpoints of the same provider, load-balanced by Envoy (default []). */
  extra_base_urls?: string[];
  tls?: { ca_file?: string; server_name?: string };
}

/** OpenAI and any OpenAI-compatible API (vLLM, Ollama, Groq, Mistral): passthrough with a Bearer credential. */
export interface OpenAIProviderConfig extends ProviderCommon {
  type: 'openai';
  /** The server speaks the Responses API too (default: only api.openai.com); else /v1/responses goes as chat. */
  responses_api?: boolean;
}

/** Azure OpenAI: deployment URLs, `api-version` query, `api-key` header. */
export interface AzureProviderConfig extends ProviderCommon {
  type: 'azure';
  api_version: string;
  /** Upstream model name → Azure deployment name (a model without an entry uses its own name as deployment). */
  deployments: Record<string, string>;
}

/** Anthropic Messages API. */
export interface AnthropicProviderConfig extends ProviderCommon {
  type: 'anthropic';
  /** The `anthropic-version` header (default 2023-06-01). */
  anthropic_version: string;
  /** `max_tokens` when the client sets none (Anthropic requires it). */
  default_max_tokens: number;
  /** Cache tools + system prompt (cache_control) when they reach this many tokens; 0 = off. */
  cache_prefix_min_tokens?: number;
}

/** Google Gemini (Generative Language API): generateContent, streamGenerateContent, embedContent. */
export interface GeminiProviderConfig extends ProviderCommon {
  type: 'gemini';
}

export type ProviderConfig = OpenAIProviderConfig | AzureProviderConfig | AnthropicProviderConfig | GeminiProviderConfig;
export type ProviderType = ProviderConfig['type'];

export interface ModelTarget {
  provider: string;
  /** The model name this provider knows. */
  model: string;
  /** Share of the traffic among the targets of the same priority (default 1; per endpoint of the provider). */
  weight?: number;
  /** Targets with the same priority share the load; lower priorities first (default: the target's position). */
  priority?: number;
  /** What this target can do (overrides the model's list); see src/routing/capabilities.ts. */
  capabilities?: Array<'tools' | 'vision' | 'json_schema' | 'reasoning'>;
  /** Its context window in tokens (overrides the model's). */
  context_window?: number;
}

/** One arm of an A/B test: a model of this config and its share of the callers. */
export interface ModelVariant {
  /** Recorded in the ledger and metrics (default: the model's name). */
  name: string;
  model: string;
  weight: number;
}

/** How Envoy spreads a model's requests over the targets of one priority. */
export interface LoadBalancingConfig {
  /**
   * round_robin (weighted), least_request (fewest requests in flight, weighted), random, or latency: Tollgate prefers
   * the target with the lowest recent latency (EWMA, src/routing/latency.ts), the others stay its fallbacks.
   */
  policy: 'round_robin' | 'least_request' | 'random' | 'latency';
  /** latency: share of requests sent to a random target instead of the fastest, so a recovered one is measured again. */
  exploration?: number;
  /** user: the same user goes to the same target while it is healthy (Maglev consistent hashing on the user). */
  sticky?: 'user';
}

/** Retries on the same provider before any fallback (Envoy's retry policy; see src/envoy/retries.ts). */
export interface RetryConfig {
  /** Retries per provider after its first attempt (0 = none). */
  max: number;
  /** Exponential back-off with full jitter: retry n waits a random time below (2^n - 1) × base, at most max. */
  base_interval_ms: number;
  max_interval_ms: number;
  /** A provider's Retry-After up to this long is waited for exactly; a longer one is ignored (back-off instead). */
  retry_after_max_ms: number;
}

/**
 * A virtual model that Tollgate resolves per request to one of `models` (models of this config):
 *  - cost: the cheapest one (config/pricing.yaml) that meets the constraints declared here and the request's needs;
 *  - semantic: the one whose example prompts are most similar to the request (the cache's embedding model).
 */
export type ModelRoute = CostRoute | SemanticRoute;

export interface CostRoute {
  strategy: 'cost';
  models: string[];
  /** Only models whose `quality_tier` is at least this. */
  min_quality_tier?: number;
  /** Only targets whose provider is declared in this region. */
  region?: string;
  /** Capabilities every request needs (the request's own needs are added). */
  capabilities?: Array<'tools' | 'vision' | 'json_schema' | 'reasoning'>;
  /** Only models with at least this context window. */
  min_context_window?: number;
  /** Output tokens assumed when a request sets no max_tokens, to weigh output prices against input prices. */
  expected_output_tokens: number;
}

export interface SemanticRoute {
  strategy: 'semantic';
  routes: Array<{ model: string; examples: string[] }>;
  /** The model for requests no route is similar enough to, or when the embedding call fails or times out. */
  default: string;
  /** Cosine similarity a request needs to an example of a route. */
  threshold: number;
  timeout_ms: number;
}

/**
 * What makes a cascade escalate: the model refused, its answer is not valid for the requested JSON schema, a
 * validator webhook rejected it, or its mean token logprob is below `min_mean_logprob`.
 */
export type CascadeSignal = 'refusal' | 'json_schema' | 'validator' | 'logprob';

export interface CascadeConfig {
  escalate_on: CascadeSignal[];
  /** validator: POST {model, content} → {"pass": boolean}; an error or no answer within timeout_ms delivers the answer. */
  validator?: { url: string; timeout_ms: number };
  /** logprob: answers whose mean token logprob is below this escalate (only answers that carry logprobs). */
  min_mean_logprob?: number;
}

export interface ModelConfig {
  /** Single-provider form; normalised into `targets` when the config is loaded. */
  provider?: string;
  upstream_model?: string;
  /** The providers that serve this model, in fallback order (always set after loading). */
  targets: ModelTarget[];
  kind: 'chat' | 'embeddings';
  /** Cap on provider attempts per request, retries and fallbacks together (default: each target 1 + retries times). */
  max_attempts?: number;
  /** Overrides of routing.retries for this model. */
  retries?: Partial<RetryConfig>;
  /** What every target can do, unless a target lists its own (absent: not constrained). */
  capabilities?: Array<'tools' | 'vision' | 'json_schema' | 'reasoning'>;
  /** Context window in tokens of every target, unless a target sets its own. */
  context_window?: number;
  /** How targets of the same priority share the load (default: weighted round robin). */
  load_balancing?: LoadBalancingConfig;
  /** An A/B test: this alias resolves to one of these models, the same one for the same user (or tenant). */
  variants?: ModelVariant[];
  /** What keeps a caller on its variant: the user (default; the app when the request names no user), or the app/team/org. */
  variant_key?: 'user' | 'app' | 'team' | 'org';
  /** A virtual model resolved per request by a strategy (cost, semantic); it has no targets of its own. */
  route?: ModelRoute;
  /**
   * A cascade: the targets' priorities are the steps (cheapest first); an answer of a step that shows one of these
   * signals is not delivered, and Envoy moves to the next step (buffered answers only; see src/routing/cascade.ts).
   */
  cascade?: CascadeConfig;
  /** A model's quality rank (higher is better), for cost routing's `min_quality_tier`; absent: 0. */
  quality_tier?: number;
}

export interface RoutingConfig {
  retry_on_status: number[];
  retries: RetryConfig;
  outlier: { consecutive_failures: number; interval_ms: number; base_ejection_ms: number };
  kill_switch_refresh_ms: number;
}

export interface AppConfig {
  models?: string[];
}

export interface TeamConfig {
  models?: string[];
  /** Providers this team's requests must never reach, fallbacks included. */
  exclude_providers?: string[];
  apps: Record<string, AppConfig>;
}

export interface OrgConfig {
  teams: Record<string, TeamConfig>;
}

export interface StaticKeyConfig {
  /** sha256 hex of the key, or the name of an env var holding the plaintext key. */
  sha256?: string;
  key_env?: string;
  org: string;
  team: string;
  app: string;
  name?: string;
}

export interface ListenerTlsConfig {
  cert_file: string;
  key_file: string;
  watch_dir?: string;
  client_ca_file?: string;
  require_client_cert: boolean;
  min_version: 'TLSv1_2' | 'TLSv1_3';
}

/** A tenant field of a JWT: the claim at this (dotted) path, or a fixed value. */
export type ClaimSource = string | { value: string };

export interface JwtProviderConfig {
  issuer: string;
  audiences: string[];
  jwks_file?: string;
  jwks_uri?: string;
  jwks_cache_seconds: number;
  jwks_ca_file?: string;
  claims: { org: ClaimSource; team: ClaimSource; app: ClaimSource; user?: ClaimSource };
  clock_skew_seconds: number;
}

export interface AuthConfig {
  jwt: { providers: Record<string, JwtProviderConfig> };
  failure_limit: {
    enabled: boolean;
    max_failures: number;
    window_seconds: number;
    block_seconds: number;
    max_tracked_addresses: number;
  };
}

export interface TollgateConfig {
  listener: { address: string; port: number; tls?: ListenerTlsConfig; trusted_proxy_hops: number };
  auth: AuthConfig;
  envoy: {
    admin: { address: string; port: number };
    /** Fail closed by default: if Tollgate is unreachable, Envoy answers an error instead of passing requests through. */
    failure_mode_allow: boolean;
    message_timeout_ms: number;
    max_request_body_bytes: number;
    /** Path prefix → request body limit in its place (longest prefix wins). */
    max_request_body_bytes_by_path?: Record<string, number>;
    max_response_body_bytes: number;
    /** Until the provider's response headers arrive (per attempt). */
    upstream_timeout_ms: number;
    /** Longest silence inside a streamed response. */
    stream_idle_timeout_ms: number;
    connect_timeout_ms: number;
    /** Where the rendered bootstrap and the watched dynamic resources live. */
    config_dir: string;
    /** Envoy answers this listener path itself (readiness without its admin). */
    readiness_path?: string;
  };
  extproc: { address: string; port: number; transport: 'http2' | 'grpc-js' | 'h2-lite'; eager_request_body?: boolean; socket_path?: string; endpoints?: Array<{ address: string; port: number }> };
  admin: {
    address: string;
    port: number;
    token_env: string;
    /** The usage dashboard at /dashboard (served only by the admin server, behind the admin token). */
    dashboard: {
      enabled: boolean;
      /** A signed-in browser stays signed in this long (sessions live in this process's memory). */
      session_ttl_seconds: number;
      /** Mark the session cookie Secure: auto = when the request came over TLS; always = behind a TLS-terminating proxy. */
      secure_cookie: 'auto' | 'always';
    };
  };
  requests: {
    /** Deepest nesting of arrays and objects in a JSON body (the body itself is depth 1). */
    max_json_depth: number;
    /** Values of any kind in a JSON body, the body included. */
    max_json_values: number;
    /** Lower-case names of client headers forwarded to providers (allow-list; Tollgate's own headers aside). */
    forward_headers: string[];
  };
  /** The Responses API's response store (off by default): kept in the gateway's store, with a TTL. */
  responses: { store: boolean; ttl_seconds: number };
  store: { type: 'memory' } | { type: 'redis'; url?: string; url_env?: string; end_phase_batch_ms?: number };
  logging: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  providers: Record<string, ProviderConfig>;
  models: Record<string, ModelConfig>;
  routing: RoutingConfig;
  orgs: Record<string, OrgConfig>;
  keys: StaticKeyConfig[];
  cache: CacheConfig;
  demo?: {
    org: string; team: string; app: string;
    tour?: Partial<Record<'redacted' | 'denied' | 'limited', { team: string; app: string; model?: string }>>;
  };
  quotas: QuotasConfig;
  ledger: LedgerConfig;
  /** Policy as code (Rego → WASM); absent = no policy stage. */
  policy?: PolicyConfig;
  /** OpenTelemetry traces of Envoy and Tollgate (off by default). */
  tracing: TracingConfig;
  /** Output rules for answers; external guardrails over HTTP (empty: none, and no cost). */
  guardrails: { output: OutputGuardrailsConfig; external: ExternalGuardrailConfig[] };
}
