import type { Logger } from 'pino';
import type { ProviderType } from '../config/types.ts';
import type { MetadataResponseHeader } from '../envoy/response-headers.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { PiiFindings } from '../guardrails/pii/types.ts';
import type { PiiSpan } from '../guardrails/pii/scan.ts';
import type { GuardrailVerdict } from '../guardrails/external/verdict.ts';
import type { OutputVerdict } from '../guardrails/output/answer-filter.ts';
import type { PlaceholderVault } from '../guardrails/pii/placeholder-vault.ts';
import type { RoundTrip } from '../store/round-trip.ts';
import type { RequestTrace } from '../observability/tracing.ts';
import type { ResponsesState } from '../responses/request.ts';
import type { MessagesRequestState } from '../messages/request.ts';
import type { AnthropicStop } from '../providers/provider-adapter.ts';
import type { HeaderMap, ProcessingModeOverride, VerifiedJwt } from './phases.ts';

export interface Tenant {
  org: string;
  team: string;
  app: string;
  /** From the body's `user` field or the x-tollgate-user header. */
  user: string | null;
  /** From the x-tollgate-feature header. */
  feature: string | null;
  keyId: string;
}

export type Endpoint = 'chat' | 'embeddings' | 'models' | 'model' | 'stored-response' | 'feedback' | 'count-tokens';

export interface Usage {
  /** All input tokens, cached ones included (OpenAI's prompt_tokens). */
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Input tokens read from the provider's prompt cache (billed at the cached-input price). */
  cachedPromptTokens?: number;
  /** Input tokens written to the provider's prompt cache (Anthropic cache_creation_input_tokens). */
  cacheWriteTokens?: number;
  /**
   * Of the completion tokens, those the model spent reasoning (OpenAI reasoning_tokens, Gemini thoughtsTokenCount),
   * when the provider reports them; priced as output, as every provider bills them.
   */
  reasoningTokens?: number;
  /**
   * Set when the provider never reported usage (client abort, cut stream) and Tollgate metered its own estimate:
   * prompt by tokenizer, completion from the tokens already delivered.
   */
  estimated?: boolean;
}

/** What stages change about the request before it goes upstream; the runner turns it into one mutation. */
export class UpstreamEdits {
  readonly setHeaders = new Map<string, string>();
  readonly removeHeaders = new Set<string>();
  path: string | null = null;
  /** Set when a stage changed ctx.body, so the runner re-serialises it (never otherwise). */
  bodyChanged = false;
  clearRouteCache = false;

  setHeader(name: string, value: string): void {
    this.removeHeaders.delete(name);
    this.setHeaders.set(name, value);
  }

  removeHeader(name: string): void {
    this.setHeaders.delete(name);
    this.removeHeaders.add(name);
  }
}

/** One provider endpoint that may serve the request, in fallback order. */
export interface RouteCandidate {
  /** Provider name in config. */
  provider: string;
  /** The wire API / vendor (openai, azure, anthropic, gemini). */
  vendor: ProviderType;
  /** The provider's region from config, null when not declared. */
  region: string | null;
  /** The model name this provider knows. */
  model: string;
  /** What the target declares it can do (capability routing); null: not declared, so not constrained. */
  capabilities?: ReadonlySet<string> | null;
  /** Its context window in tokens; null: not declared. */
  contextWindow?: number | null;
}

/**
 * What may serve this request. The resolve stage fills `candidates` from the model alias; later stages (tenant
 * config, kill switches, policy) narrow them; the route stage enforces the result, fallbacks included: an excluded
 * provider is never contacted. None left → 403 with the reasons.
 */
export interface RoutingConstraints {
  /** The public model name or alias the client asked for. */
  alias: string | null;
  candidates: RouteCandidate[];
  excludedProviders: Set<string>;
  /** When set, only providers whose region is in the set may serve (a provider without region never matches). */
  allowedRegions: Set<string> | null;
  /** Why candidates were excluded, for the client's error and the audit log (no request content). */
  reasons: string[];
  /**
   * A virtual model (config `route`): the member models its strategy picks from. `candidates` then holds all their
   * targets, so tenant config, kill switches and policy narrow them before the route stage picks. Unset otherwise.
   */
  choices?: readonly string[] | null;
  /** The strategy the model is configured with (a virtual model's, or latency balancing), for policy to see. */
  strategy?: RoutingStrategy | null;
  /** Strategies policy forbade for this request (decision `forbid_strategies`); the plain chain serves instead. */
  forbiddenStrategies?: ReadonlySet<RoutingStrategy> | null;
  /** The member model policy picked for a virtual model (decision `route_model`), instead of its strategy. */
  pickedModel?: string | null;
}

/** The strategies that choose where a request goes beyond Envoy's own balancing. */
export const ROUTING_STRATEGIES = ['cost', 'semantic', 'latency'] as const;
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

/** One try at a provider, as Envoy made it (fallbacks and retries each add one). */
export interface Attempt {
  provider: string;
  model: string;
  /** HTTP status of the provider's answer; null when it never answered (reset, timeout). */
  status: number | null;
  /** A cascade step whose answer was not delivered: the signal that escalated it (its status stays the provider's). */
  escalated?: string;
  /** The escalated step's usage: its tokens were spent, so they are metered with the request. */
  usage?: Usage;
}

export type Outcome = 'pending' | 'completed' | 'rejected' | 'aborted';

/** Everything known about one request; stages read and fill it, phase by phase. */
export interface RequestContext {
  readonly requestId: string;
  readonly startedAt: number;
  readonly now: () => number;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly requestHeaders: HeaderMap;
  /** The client's IP address as Envoy saw it (after trusted proxies), when Envoy sent it. */
  readonly sourceAddress: string | null;
  /** A JWT payload verified by Envoy's jwt_authn filter (never parsed from a header by Tollgate). */
  readonly verifiedJwt: VerifiedJwt | null;
  /** A child logger carrying the request id, created on first use (most requests log one line, at the end). */
  readonly log: Logger;
  endpoint: Endpoint | null;
  /**
   * The API the client speaks: `chat` (chat completions, embeddings, models), `responses` (POST /v1/responses) or
   * `messages` (Anthropic's POST /v1/messages and /v1/messages/count_tokens). A Responses or Messages request runs
   * every stage in its chat form (endpoint `chat`); src/stages/responses-dialect.ts and messages-dialect.ts turn the
   * answer back into the client's dialect, and Tollgate's errors take that dialect's shape.
   */
  dialect: 'chat' | 'responses' | 'messages';
  /** For the Responses dialect: what the Response echoes, the conversation so far, whether to store the answer. */
  responses: ResponsesState | null;
  /** For the Messages dialect: the client's own body (an Anthropic provider may get it as is). */
  messages: MessagesRequestState | null;
  /** Why an Anthropic provider stopped, in its own terms (set by the route for /v1/messages requests only). */
  anthropicStop?: AnthropicStop;
  /**
   * For the Messages dialect: the usage the answering provider reported so far, which a chat usage chunk cannot
   * carry whole (an Anthropic provider's prompt-cache writes); the streamed message_delta reports it.
   */
  providerUsage?: Usage;
  /** Each choice's OpenAI finish_reason as the provider's answer gave it (the span's gen_ai.response.finish_reasons). */
  finishReasons?: readonly string[];
  tenant: Tenant | null;
  body: Record<string, unknown> | null;
  /** Length of the client's request body as received (0 before the body phase). */
  bodyBytes: number;
  /** The model the client asked for (public name). */
  model: string | null;
  /** The A/B variant the request was assigned to, when its model is an A/B test (routing.alias is its model). */
  variant: string | null;
  /** The provider that answered (the last attempt's), once known. */
  provider: string | null;
  /** The model name the answering provider was asked for. */
  upstreamModel: string | null;
  routing: RoutingConstraints;
  attempts: Attempt[];
  /** How many attempts Envoy made (retries and fallbacks included), once the response started; null before. */
  attemptCount: number | null;
  stream: boolean;
  upstream: UpstreamEdits;
  /**
   * Headers for the client's response, decided before the provider is called (cache status, rate limits). They
   * reach proxied responses through Envoy (see src/envoy/response-headers.ts) and immediate ones directly.
   */
  responseHeaders: Map<MetadataResponseHeader, string>;
  response: {
    status: number | null;
    /** An SSE stream: the client asked for one and the provider answered 200. */
    streaming: boolean;
    /** Response body bytes as the provider sent them. */
    bytes: number;
    /** When the first and the last body chunk passed (ctx.now() ms), and how many there were: TTFT and pace. */
    firstChunkAt?: number;
    lastChunkAt?: number;
    chunks?: number;
  };
  usage: Usage | null;
  /** PII the guardrails stage found in the request text: types and counts, never values (unset: not scanned). */
  pii?: PiiFindings;
  /** External guardrails' verdicts on the request, by guardrail name (unset: none ran). */
  guardrails?: Record<string, GuardrailVerdict>;
  /** Values external detectors (Presidio) found, by request text, beyond the built-in ones: for redaction only. */
  externalPii?: Map<string, PiiSpan[]>;
  /** What the output guardrails found in the answer and did (counts by type, never values). */
  output?: OutputVerdict;
  /** Reversible redaction's placeholders for this request (never logged or stored); absent when none. */
  placeholders?: PlaceholderVault;
  /** The policy decision applied to this request, for the request log line (unset: no policy configured). */
  policy?: { decisionId: string; revision: string; allow: boolean };
  /**
   * Whether this request may be cached, as policy decided: `forbid` (policy, or an output check that rewrote or
   * blocked the answer: nothing is stored) or `personalized` (the answer depends on the user: neither read nor stored).
   */
  cachePolicy: 'default' | 'forbid' | 'personalized';
  /**
   * What the cache did: `hit` answered from cache (no provider spend), `miss` asked the provider (and may store),
   * `bypass` not cacheable or opted out, `stale`/`default` answered for a failed provider chain; null when the
   * cache had no say (not a chat request, rejected before it).
   */
  cacheStatus: 'hit' | 'miss' | 'bypass' | 'stale' | 'default' | null;
  /** On a hit (or stale answer): the usage of the cached answer, i.e. the provider spend this request saved. */
  cacheSavedUsage: Usage | null;
  /**
   * Set in the request headers phase (the only one where Envoy honours it) when this request needs phases the filter
   * skips by default, e.g. the response headers, so a failed answer can still be replaced (ext_proc mode_override).
   */
  processingModeOverride: ProcessingModeOverride | null;
  /**
   * What the request cost, set by the quota stage at settlement (before the ledger stage reads it): integer
   * nano-USD so millions of requests sum without drift; pricingId names the price entry used. A cache hit costs 0
   * and records what the provider would have charged as savedNanoUsd.
   */
  cost: { nanoUsd: bigint; pricingId: string; savedNanoUsd?: bigint } | null;
  /** The error Tollgate answered with, if any. */
  error: GatewayError | null;
  outcome: Outcome;
  /**
   * The Redis commands stages queue for this phase's one round trip (src/store/round-trip.ts); null without a Redis
   * store. Whoever needs a reply first sends the lot; the runner sends what is left at the end.
   */
  roundTrip: RoundTrip | null;
  /** This request's trace (src/observability/tracing.ts); null when tracing is off, and then nothing is traced. */
  trace: RequestTrace | null;
}

/**
 * The API the client called, as the ledger and the request log name it: a Responses or Messages request runs as
 * `chat` but is recorded as `responses` or `messages`; everything else by its endpoint.
 */
export function clientEndpoint(ctx: Pick<RequestContext, 'dialect' | 'endpoint'>): string | null {
  if (ctx.dialect === 'chat' || ctx.endpoint !== 'chat') return ctx.endpoint;
  return ctx.dialect;
}
