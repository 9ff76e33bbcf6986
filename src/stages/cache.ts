import type { Logger } from 'pino';
import type { CacheBackend } from '../cache/cache-backend.ts';
import { answerFromEntry, defaultAnswer, jsonAnswer, sseAnswer, type CacheEntry, type RecordedAnswer } from '../cache/cache-entry.ts';
import { exactKey, semanticQuery, tenantScope, type KeyInput } from '../cache/cache-key.ts';
import { anyFallbackRule, cacheRuleFor, type CacheRuleConfig } from '../cache/config.ts';
import type { Embedder } from '../cache/embeddings-client.ts';
import { SEND_RESPONSE_HEADERS } from '../cache/envoy-fallback.ts';
import { textFeatures, type TextFeatures } from '../cache/near-miss.ts';
import { ResponseRecorder } from '../cache/response-recorder.ts';
import { bestMatch } from '../cache/semantic-index.ts';
import { answersAgree, answerText } from '../cache/answer-agreement.ts';
import { bucketOf, certifiedThreshold } from '../cache/error-bound.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { DirectAnswer, Stage, StageResult } from '../pipeline/stage.ts';

/** Request headers a client uses to steer the cache; Tollgate removes them before the provider. */
const CACHE_HEADER = 'x-tollgate-cache';
const PERSONALIZED_HEADER = 'x-tollgate-personalized';

export interface CacheStageDeps {
  config: ConfigHolder;
  backend: CacheBackend;
  /** Null when no embeddings model is configured: exact cache only. */
  embedder: Embedder | null;
  logger: Logger;
  metrics?: GatewayMetrics;
  now?: () => number;
  /** Draws the exploration lottery of error-bounded rules (tests fix it). */
  random?: () => number;
}

/** A would-be semantic hit of an error-bounded rule sent to the provider instead, to verify the stored answer. */
interface Exploration {
  key: string;
  similarity: number;
  scope: string;
}

/** Response header saying a request verified a stored answer rather than being served it. */
const VERIFY_HEADER = 'x-tollgate-cache-verify';

/** What a request that went to the provider may leave in the cache once its answer is complete. */
interface PendingStore {
  key: string;
  rule: CacheRuleConfig;
  semantic: { namespace: string; vector: Float32Array; features: TextFeatures } | null;
  /** Null when the request may not write to the cache (it is here only for the stale/default fallback). */
  recorder: ResponseRecorder | null;
  /** An expired entry still inside its stale window, ready to answer if every provider fails. */
  stale: CacheEntry | null;
  explore: Exploration | null;
}

/** What the request may do with the cache, from route rule, policy and the client's own headers. */
function cacheAccess(ctx: RequestContext, rule: CacheRuleConfig, clientBody: Readonly<Record<string, unknown>>): { read: boolean; write: boolean } {
  const none = { read: false, write: false };
  if (rule.mode === 'off' || rule.personalized || ctx.cachePolicy !== 'default') return none;
  const personalized = ctx.requestHeaders.get(PERSONALIZED_HEADER);
  if (personalized !== undefined && personalized !== 'false' && personalized !== '0') return none;
  if (rule.mode === 'deterministic' && clientBody.temperature !== 0) return none;
  if (ctx.requestHeaders.get(CACHE_HEADER)?.trim().toLowerCase() === 'bypass') return none;
  const cacheControl = (ctx.requestHeaders.get('cache-control') ?? '').toLowerCase();
  if (/(^|[\s,])no-store($|[\s,])/.test(cacheControl)) return none;
  // no-cache: the client wants a fresh answer, which may then serve others.
  if (/(^|[\s,])no-cache($|[\s,])/.test(cacheControl)) return { read: false, write: true };
  return { read: true, write: true };
}

const wantsUsage = (body: Readonly<Record<string, unknown>>) =>
  (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;

/**
 * The response cache, as two stages. `before` (ahead of the quota reservation) keeps the client's OpenAI request,
 * which route later replaces with the provider's form, decides what the request may do with the cache and queues the
 * exact lookup in the request's round trip, so it leaves with the reservation. `after` (right after route) takes the
 * lookup's answer, answers a hit as an immediate response (no provider call: Envoy returns it directly), and on the
 * way back, where route has already turned the provider's answer into OpenAI format, records it and stores it once
 * it completed successfully (a cut stream or an error never is), again in the request's last round trip.
 *
 * When every provider of a chain failed (the status reaches `onResponseHeaders`, see
 * src/cache/envoy-fallback.ts), a stale entry answers for routes with `stale_on_error`, marked
 * `x-tollgate-cache: stale`; failing that, the route's default response, marked `default`.
 */
export function cacheStages(deps: CacheStageDeps): { before: Stage; after: Stage } {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const clientBodies = new WeakMap<RequestContext, Readonly<Record<string, unknown>>>();
  const pending = new WeakMap<RequestContext, PendingStore>();
  /** What `before` prepared for `after`: the key, the rule, and the exact lookup already queued. */
  const lookups = new WeakMap<RequestContext, {
    input: KeyInput; key: string; rule: CacheRuleConfig; access: { read: boolean; write: boolean };
    body: Readonly<Record<string, unknown>>; exact: Promise<CacheEntry | null> | null;
  }>();
  let lastWarning = 0;
  const warn = (error: unknown, what: string) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    deps.logger.warn({ err: error }, `cache ${what} failed; serving without the cache`);
  };

  async function semanticLookup(input: KeyInput, rule: CacheRuleConfig, read: boolean) {
    const threshold = rule.semantic_threshold;
    const none = { hit: null, semantic: null, explore: null };
    if (threshold === undefined || !deps.embedder) return none;
    const query = semanticQuery(input);
    if (!query) return none;
    const vector = await deps.embedder.embed(query.text).catch((error: unknown) => (warn(error, 'embedding'), null));
    if (!vector) return none;
    const semantic = { namespace: query.namespace, vector, features: textFeatures(query.text) };
    if (!read) return { hit: null, semantic, explore: null };
    const bounded = rule.semantic_max_error;
    const [records, outcomes] = await Promise.all([
      deps.backend.semanticRecords(query.namespace),
      bounded === undefined ? null : deps.backend.outcomes(query.calibrationScope),
    ]);
    const match = bestMatch(records, vector, semantic.features, threshold);
    if (!match) return { hit: null, semantic, explore: null };
    if (bounded !== undefined && outcomes) {
      const cache = deps.config.catalog().config.cache;
      const certified = certifiedThreshold(outcomes, { maxError: bounded, confidence: cache.semantic_confidence, floor: threshold });
      const serve = certified !== null && match.similarity >= certified && random() >= cache.semantic_explore_rate;
      if (!serve) return { hit: null, semantic, explore: { key: match.key, similarity: match.similarity, scope: query.calibrationScope } };
    }
    const entry = await deps.backend.get(match.key);
    return { hit: entry && entry.expiresAt > now() ? entry : null, semantic, explore: null };
  }

  /** Compares the fresh answer of an explored request with the stored one and counts the outcome (off the answer's path). */
  async function verify(explore: Exploration, fresh: RecordedAnswer): Promise<void> {
    const stored = await deps.backend.get(explore.key);
    const storedText = stored ? answerText(stored) : null;
    const freshText = answerText(fresh);
    if (!deps.embedder || storedText === null || freshText === null) return;
    const cache = deps.config.catalog().config.cache;
    const verdict = await answersAgree(storedText, freshText, deps.embedder, cache.semantic_answer_agreement);
    if (!verdict) return;
    await deps.backend.recordOutcome(explore.scope, bucketOf(explore.similarity), verdict.agreed);
    deps.metrics?.cacheVerifications.inc({ outcome: verdict.agreed ? 'agreed' : 'disagreed' });
  }

  function hit(ctx: RequestContext, entry: CacheEntry, body: Readonly<Record<string, unknown>>, match: 'exact' | 'semantic'): StageResult {
    ctx.cacheStatus = 'hit';
    ctx.cacheSavedUsage = entry.usage;
    const answer = answerFromEntry(entry, 'hit', wantsUsage(body), now());
    answer.headers['x-tollgate-cache-match'] = match;
    return { respond: answer };
  }

  const before: Stage = {
    name: 'cache-capture',
    onRequestHeaders(ctx) {
      // The model is not known yet (the body comes later), so any stale/default rule asks for every chat request.
      if (ctx.endpoint === 'chat' && anyFallbackRule(deps.config.catalog().config.cache)) ctx.processingModeOverride = SEND_RESPONSE_HEADERS;
    },
    onRequest(ctx) {
      if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings') return;
      if (ctx.endpoint === 'chat' && ctx.body) clientBodies.set(ctx, ctx.body);
      ctx.upstream.removeHeader(CACHE_HEADER);
      ctx.upstream.removeHeader(PERSONALIZED_HEADER);
      const body = clientBodies.get(ctx);
      const alias = ctx.routing.alias;
      const cache = deps.config.catalog().config.cache;
      const rule = alias ? cacheRuleFor(cache, alias) : null;
      const access = body && rule && ctx.tenant ? cacheAccess(ctx, rule, body) : { read: false, write: false };
      ctx.cacheStatus = access.read ? 'miss' : 'bypass';
      ctx.responseHeaders.set(CACHE_HEADER, ctx.cacheStatus);
      if (!body || !rule || !ctx.tenant || !alias || (!access.read && !access.write && !rule.default_response)) return;
      const input: KeyInput = {
        scope: tenantScope(ctx.tenant, cache.share), alias, candidates: ctx.routing.candidates, kind: ctx.stream ? 'sse' : 'json', body,
      };
      const key = exactKey(input);
      // Queued in the request's round trip, which the quota reservation right after sends: no round trip of its own.
      const exact = access.read || rule.stale_on_error
        ? deps.backend.get(key, ctx.roundTrip).catch((error: unknown) => (warn(error, 'lookup'), null))
        : null;
      lookups.set(ctx, { input, key, rule, access, body, exact });
    },
  };

  const after: Stage = {
    name: 'cache',
    async onRequest(ctx): Promise<StageResult> {
      const lookup = lookups.get(ctx);
      if (!lookup) return;
      lookups.delete(ctx);
      const { input, key, rule, access, body } = lookup;
      let stale: CacheEntry | null = null;
      let semantic: PendingStore['semantic'] = null;
      let explore: Exploration | null = null;
      try {
        if (lookup.exact) {
          // Nobody sent the round trip yet (no quota reserved in it): send it now.
          await ctx.roundTrip?.send();
          const entry = await lookup.exact;
          if (entry && entry.expiresAt > now() && access.read) return hit(ctx, entry, body, 'exact');
          if (entry && rule.stale_on_error) stale = entry;
        }
        if (access.read || access.write) {
          const found = await semanticLookup(input, rule, access.read);
          if (found.hit) return hit(ctx, found.hit, body, 'semantic');
          semantic = found.semantic;
          explore = access.write ? found.explore : null;
          if (explore) ctx.responseHeaders.set(VERIFY_HEADER, 'explore');
        }
      } catch (error) {
        warn(error, 'lookup');
      }
      const recorder = access.write ? new ResponseRecorder(deps.config.catalog().config.cache.max_entry_bytes) : null;
      pending.set(ctx, { key, rule, semantic, recorder, stale, explore });
    },

    onResponseHeaders(ctx): { respond: DirectAnswer } | void {
      const status = ctx.response.status ?? 0;
      if (status < 500 && status !== 429) return;
      const state = pending.get(ctx);
      const body = clientBodies.get(ctx);
      if (!state || !body) return;
      if (state.stale && state.stale.staleUntil > now()) {
        ctx.cacheStatus = 'stale';
        ctx.cacheSavedUsage = state.stale.usage;
        return { respond: answerFromEntry(state.stale, 'stale', wantsUsage(body), now()) };
      }
      if (state.rule.default_response) {
        ctx.cacheStatus = 'default';
        return {
          respond: defaultAnswer(state.rule.default_response.content, {
            model: ctx.routing.alias ?? ctx.model ?? '', requestId: ctx.requestId, createdAt: Math.floor(now() / 1000),
            stream: ctx.stream, wantsUsage: wantsUsage(body),
          }),
        };
      }
    },

    onResponseChunk(ctx, chunk): void {
      if (ctx.response.status === 200) pending.get(ctx)?.recorder?.push(chunk);
    },

    async onResponseEnd(ctx): Promise<void> {
      const state = pending.get(ctx);
      pending.delete(ctx);
      // Only a complete, successful answer that passed every check (an output check that rewrote or blocked it
      // sets cachePolicy to forbid) and that no stage turned into an error.
      if (!state || ctx.cacheStatus === 'hit' || ctx.outcome !== 'completed' || ctx.response.status !== 200) return;
      if (ctx.error || ctx.cachePolicy !== 'default') return;
      const text = state.recorder?.text();
      if (!text) return;
      const answer = ctx.stream ? sseAnswer(text, ctx.usage) : jsonAnswer(text);
      if (!answer) return;
      if (state.explore) void verify(state.explore, answer).catch((error: unknown) => warn(error, 'verification'));
      const storedAt = now();
      const expiresAt = storedAt + state.rule.ttl_seconds * 1000;
      const entry: CacheEntry = {
        ...answer, provider: ctx.provider, storedAt, expiresAt,
        staleUntil: state.rule.stale_on_error ? expiresAt + state.rule.stale_ttl_seconds * 1000 : expiresAt,
      };
      const semantic = state.semantic
        ? { namespace: state.semantic.namespace, record: { key: state.key, vector: state.semantic.vector, features: state.semantic.features } }
        : undefined;
      // Queued in the request's last round trip (sent with the quota settlement, or by the runner at the end).
      void deps.backend.put(state.key, entry, semantic, ctx.roundTrip).catch((error: unknown) => warn(error, 'store'));
    },
  };
  return { before, after };
}
