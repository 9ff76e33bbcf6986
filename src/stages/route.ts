import type { Embedder } from '../cache/embeddings-client.ts';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { CostRoute, ModelConfig } from '../config/types.ts';
import { chainClusterName, maskOf, preferredClusterName } from '../envoy/chains.ts';
import { AFFINITY_HEADER } from '../envoy/names.ts';
import { singleProviderRouteKey } from '../envoy/retries.ts';
import { ROUTE_HEADER } from '../envoy/render-envoy-config.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext, RouteCandidate, RoutingConstraints, RoutingStrategy } from '../pipeline/context.ts';
import type { PriceTable } from '../pricing/price-table.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { CredentialResolver } from '../providers/credentials.ts';
import type { ResponseTranslator } from '../providers/provider-adapter.ts';
import { providerAdapter } from '../providers/registry.ts';
import { countTokensForProvider, passthroughForProvider, translateForProvider } from '../providers/translate.ts';
import { estimatedCount } from '../messages/count-estimate.ts';
import type { ResolvedProvider } from '../config/catalog.ts';
import type { OutgoingRequest, ResponseInfo } from '../providers/provider-adapter.ts';
import type { AttemptLog } from '../upstream/attempt-log.ts';
import { RESPONSES_DIALECT_FIELD } from '../responses/chain-marker.ts';
import { contextNeeded, requiredCapabilities } from '../routing/capabilities.ts';
import { chooseCheapest } from '../routing/cost.ts';
import { LatencyTracker } from '../routing/latency.ts';
import { candidatesOf } from '../routing/member-candidates.ts';
import { lastUserText, SemanticRouter } from '../routing/semantic.ts';
import { capabilitiesStage } from './capabilities.ts';

/**
 * Client headers a provider request keeps whatever the allow-list says: what HTTP needs to carry the body, and what
 * Envoy needs until its last upstream filter removes it (x-request-id, x-forwarded-*, x-envoy-*; see clusters.ts).
 */
const TRANSPORT_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'te', 'x-request-id']);
const allowLists = new WeakMap<readonly string[], ReadonlySet<string>>();

/**
 * Only the allow-listed client headers (config `requests.forward_headers`) go to a provider: the others are removed
 * from the upstream request. Headers Tollgate sets itself (credential, version headers) are not touched.
 */
export function dropUnlistedClientHeaders(ctx: RequestContext, forward: readonly string[]): void {
  let allowed = allowLists.get(forward);
  if (!allowed) allowLists.set(forward, (allowed = new Set(forward)));
  for (const name of ctx.requestHeaders.keys()) {
    if (name.startsWith(':') || TRANSPORT_HEADERS.has(name) || allowed.has(name)) continue;
    if (name.startsWith('x-envoy-') || name.startsWith('x-forwarded-')) continue;
    if (ctx.upstream.setHeaders.has(name)) continue;
    ctx.upstream.removeHeader(name);
  }
}

/** Whether no exclusion (tenant config, kill switch, policy) removed this candidate. */
export function isAllowed(routing: RoutingConstraints, candidate: RouteCandidate): boolean {
  return !routing.excludedProviders.has(candidate.provider) &&
    (routing.allowedRegions === null || (candidate.region !== null && routing.allowedRegions.has(candidate.region)));
}

/** The candidates that no exclusion (tenant config, kill switch, policy) removed, in fallback order. */
export function allowedCandidates(routing: RoutingConstraints): RouteCandidate[] {
  return routing.candidates.filter((candidate) => isAllowed(routing, candidate));
}

export interface RouteStageDeps {
  config: ConfigHolder;
  credentials: CredentialResolver;
  attempts: AttemptLog;
  /** The price table cost routing compares (the quota stage's). Without it, cost-routed models use their first member. */
  prices?: PriceTable | null;
  /** The cache's embedding model, for semantic routing (null: semantic routes always take their default). */
  embedder?: Embedder | null;
  /** Whether an operator switched a model off (kill switches): a virtual model never picks such a member. */
  modelSwitchedOff?: (model: string) => boolean;
  /** Latency measurements for latency-aware balancing (one per process; injectable for tests and benchmarks). */
  latency?: LatencyTracker;
}

const forbids = (ctx: RequestContext, strategy: RoutingStrategy) => ctx.routing.forbiddenStrategies?.has(strategy) ?? false;

/** Output tokens of the answer as asked for, else the route's assumption. */
function expectedOutput(body: Readonly<Record<string, unknown>>, route: CostRoute): number {
  const asked = body.max_completion_tokens ?? body.max_tokens;
  return typeof asked === 'number' && asked > 0 ? asked : route.expected_output_tokens;
}

/**
 * Chooses where the request goes among the allowed candidates and tells Envoy (x-tollgate-route + route refresh):
 *  - one provider left: its own route; Tollgate translates the request here, in the request-level filter;
 *  - several: the chain cluster holding exactly those providers, in order. Envoy walks it on failures and the
 *    upstream filter translates each attempt for the provider Envoy picked (src/upstream/attempt-handler.ts), so an
 *    excluded provider is never contacted, fallbacks included.
 * On the way back it translates the response of whichever provider answered (Envoy names it in the response
 * attributes) into OpenAI format, before any later stage reads it.
 */
export function routeStage(deps: RouteStageDeps): Stage {
  const latency = deps.latency ?? new LatencyTracker();
  const semantic = deps.embedder ? new SemanticRouter(deps.embedder) : null;
  // The examples are embedded at start, off the request path (after a reload, by the first request).
  if (semantic) {
    for (const model of Object.values(deps.config.catalog().config.models)) if (model.route?.strategy === 'semantic') semantic.warm(model.route);
  }
  const capabilityCheck = capabilitiesStage();
  /** Latency-balanced requests: the model and the target preferred, to record how the answer went. */
  const timed = new WeakMap<RequestContext, { model: string; preferred: string }>();
  const translators = new WeakMap<RequestContext, ResponseTranslator>();
  const clientWantsUsage = new WeakSet<RequestContext>();
  const chained = new WeakSet<RequestContext>();
  /** The client's OpenAI body, for translators that answer from it (e.g. Gemini embeddings' encoding_format). */
  const clientBodies = new WeakMap<RequestContext, Readonly<Record<string, unknown>>>();

  /** Candidates whose credential is missing cannot serve; they are dropped like exclusions, with a reason. */
  function servable(ctx: RequestContext, candidates: RouteCandidate[]): RouteCandidate[] {
    const catalog = deps.config.catalog();
    return candidates.filter((candidate) => {
      const provider = catalog.provider(candidate.provider);
      if (!provider) return false;
      if (CredentialResolver.needsCredential(provider.config) && !deps.credentials.has(provider.config)) {
        ctx.routing.reasons.push(`provider ${candidate.provider} has no credential configured`);
        return false;
      }
      return true;
    });
  }

  function translateHere(ctx: RequestContext, chosen: RouteCandidate, endpoint: 'chat' | 'embeddings'): void {
    const provider = deps.config.catalog().provider(chosen.provider);
    if (!provider) return;
    const responses = ctx.responses ? { metadata: ctx.responses.echo.metadata } : undefined;
    // A /v1/messages request that no stage changed (no redaction, no max_tokens cap) goes to an Anthropic provider
    // as the client wrote it: no chat round trip that could lose what the chat form cannot say (top_k, thinking).
    const passthrough = ctx.messages && !ctx.upstream.bodyChanged ? passthroughForProvider(provider, chosen.model, ctx.messages.original, deps.credentials) : null;
    const outgoing = passthrough ?? translateForProvider(provider, chosen.model, { endpoint, body: ctx.body ?? {}, stream: ctx.stream, ...(responses ? { responses } : {}) }, deps.credentials);
    sendTo(ctx, provider, chosen, outgoing);
  }

  /** The request goes to this one provider, as `outgoing` says, on the provider's own Envoy route. */
  function sendTo(ctx: RequestContext, provider: ResolvedProvider, chosen: RouteCandidate, outgoing: OutgoingRequest): void {
    ctx.upstream.path = outgoing.path;
    // The client's Tollgate key never goes to a provider; adapters set the provider's own credential header.
    ctx.upstream.removeHeader('authorization');
    for (const name of outgoing.removeHeaders) ctx.upstream.removeHeader(name);
    for (const [name, value] of Object.entries(outgoing.headers)) ctx.upstream.setHeader(name, value);
    ctx.body = outgoing.body;
    ctx.upstream.bodyChanged = true;
    ctx.provider = provider.name;
    ctx.upstreamModel = chosen.model;
    ctx.responseHeaders.set('x-tollgate-model', chosen.model);
    ctx.upstream.setHeader(ROUTE_HEADER, singleProviderRouteKey(deps.config.catalog().config, ctx.routing.alias ?? ctx.model, provider.name));
  }

  /**
   * POST /v1/messages/count_tokens, counted by the provider a message would go to first: one that counts prompts
   * itself (Anthropic, Gemini) gets the prompt (an Anthropic one the client's own body when no stage changed it,
   * else the redacted chat form translated), with no fallback (another provider's tokenizer would count otherwise);
   * for any other provider the gateway answers its own estimate. Nothing is reserved or metered: a count is free.
   */
  function countHere(ctx: RequestContext, chosen: RouteCandidate): StageResult {
    const provider = deps.config.catalog().provider(chosen.provider);
    if (!provider) return { respond: errors.providerUnavailable(ctx.model ?? '', `provider ${chosen.provider} is not configured`) };
    const original = ctx.messages && !ctx.upstream.bodyChanged ? ctx.messages.original : null;
    const outgoing = countTokensForProvider(provider, chosen.model, { body: ctx.body ?? {}, original }, deps.credentials);
    if (!outgoing) return { respond: estimatedCount(ctx.body ?? {}, chosen.vendor) };
    sendTo(ctx, provider, chosen, outgoing);
  }

  /** A virtual model resolves to the member `model`: its candidates replace the union of the members'. */
  function settleOn(ctx: RequestContext, model: string, strategy: RoutingStrategy | 'policy' | null, ineligible: readonly RouteCandidate[] = []): void {
    ctx.routing.alias = model;
    ctx.routing.choices = null;
    ctx.routing.candidates = [...candidatesOf(deps.config.catalog(), model)];
    // The member's targets that miss the route's constraints must not serve as its fallbacks either.
    for (const candidate of ineligible) {
      if (ctx.routing.excludedProviders.has(candidate.provider)) continue;
      ctx.routing.excludedProviders.add(candidate.provider);
      ctx.routing.reasons.push(`${candidate.provider}/${candidate.model} does not meet the route's constraints`);
    }
    if (strategy) ctx.responseHeaders.set('x-tollgate-strategy', strategy);
  }

  /**
   * A virtual model (config `route`): picks the member model, among the members with a target that policy, tenant
   * config and kill switches allowed, by the route's strategy (cost, semantic), or as policy picked, or, when policy
   * forbade the strategy, the first usable member (semantic: the default).
   */
  function chooseMember(ctx: RequestContext, choices: readonly string[]): StageResult | Promise<StageResult> {
    const catalog = deps.config.catalog();
    const virtual = ctx.routing.alias ?? ctx.model ?? '';
    const route = catalog.config.models[virtual]?.route;
    if (!route) return { respond: errors.modelNotFound(virtual) };
    const off = deps.modelSwitchedOff;
    const usable = (member: string) => !off?.(member) && candidatesOf(catalog, member).some((candidate) => isAllowed(ctx.routing, candidate));
    const picked = ctx.routing.pickedModel;
    if (picked) {
      if (!choices.includes(picked) || !usable(picked)) return { respond: errors.noAllowedProvider(virtual, [...ctx.routing.reasons, `policy picked ${picked}, which cannot serve`]) };
      settleOn(ctx, picked, 'policy');
      // Picked without the strategy's checks: the member's targets must still be capable of this request.
      return capabilityCheck.onRequest?.(ctx);
    }
    const ordered = route.strategy === 'semantic' ? [route.default, ...choices.filter((m) => m !== route.default)] : choices;
    const firstUsable = ordered.find(usable);
    if (!firstUsable) return { respond: errors.noAllowedProvider(virtual, ctx.routing.reasons) };
    if (forbids(ctx, route.strategy) || (route.strategy === 'cost' && !deps.prices) || (route.strategy === 'semantic' && !semantic)) {
      settleOn(ctx, firstUsable, null);
      return capabilityCheck.onRequest?.(ctx);
    }
    if (route.strategy === 'cost') {
      const body = ctx.body ?? {};
      const members = choices.filter((name) => !off?.(name)).map((name) => ({ name, config: catalog.config.models[name] as ModelConfig, candidates: candidatesOf(catalog, name) }));
      let smallestWindow = Number.POSITIVE_INFINITY;
      for (const member of members) for (const c of member.candidates) if (c.contextWindow && c.contextWindow < smallestWindow) smallestWindow = c.contextWindow;
      const choice = chooseCheapest(route, members, (candidate) => isAllowed(ctx.routing, candidate), deps.prices as PriceTable, {
        needs: requiredCapabilities(body),
        contextNeeded: smallestWindow < Number.POSITIVE_INFINITY ? contextNeeded(body, ctx.bodyBytes, smallestWindow) : 0,
        // About four bytes of JSON per token: enough to weigh input against output prices.
        promptTokens: Math.ceil(ctx.bodyBytes / 4),
        outputTokens: expectedOutput(body, route),
        at: Date.now(),
      });
      if ('none' in choice) {
        return { respond: errors.badRequest(`No model of \`${virtual}\` meets this request's constraints: ${choice.none.join('; ')}.`, 'model', 'no_eligible_model') };
      }
      settleOn(ctx, choice.model, 'cost', choice.ineligible);
      return;
    }
    const text = lastUserText(ctx.body ?? {});
    return (semantic as SemanticRouter).choose(route, text, usable).then(({ model }) => {
      settleOn(ctx, usable(model) ? model : firstUsable, 'semantic');
      // The chosen member's targets must still be capable of this request (tools, images, context).
      return capabilityCheck.onRequest?.(ctx) as StageResult;
    });
  }

  function proceed(ctx: RequestContext): StageResult {
    const endpoint = ctx.endpoint;
    if (endpoint !== 'chat' && endpoint !== 'embeddings' && endpoint !== 'count-tokens') return;
    if (!ctx.tenant || !ctx.model) return;
    const policyAllowed = allowedCandidates(ctx.routing);
    if (policyAllowed.length === 0) return { respond: errors.noAllowedProvider(ctx.model, ctx.routing.reasons) };
    const allowed = servable(ctx, policyAllowed);
    if (allowed.length === 0) return { respond: errors.providerUnavailable(ctx.model, ctx.routing.reasons.join('; ')) };
    if ((ctx.body?.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true) clientWantsUsage.add(ctx);
    if (ctx.body) clientBodies.set(ctx, ctx.body);

    if (endpoint === 'count-tokens') {
      const answered = countHere(ctx, allowed[0] as RouteCandidate);
      if (answered) return answered;
    } else if (allowed.length === 1) {
      translateHere(ctx, allowed[0] as RouteCandidate, endpoint);
    } else {
      const model = deps.config.catalog().config.models[ctx.routing.alias ?? ctx.model];
      if (!model) return { respond: errors.modelNotFound(ctx.model) };
      chained.add(ctx);
      // Each attempt's translation must know the client speaks the Responses API (a native provider then gets
      // that dialect): the marker rides in the body, which Envoy replays to every attempt.
      if (ctx.responses && ctx.body) {
        ctx.body = { ...ctx.body, [RESPONSES_DIALECT_FIELD]: { metadata: ctx.responses.echo.metadata } };
        ctx.upstream.bodyChanged = true;
      }
      // A /v1/messages body goes to the chain in its chat form, which every attempt translates for its provider.
      if (ctx.messages) ctx.upstream.bodyChanged = true;
      ctx.upstream.removeHeader('authorization');
      // Sticky by user: Envoy hashes this header to keep the user on one target while it is healthy.
      if (model.load_balancing?.sticky === 'user' && ctx.tenant.user) {
        ctx.upstream.setHeader(AFFINITY_HEADER, `${ctx.tenant.org}/${ctx.tenant.user}`);
      }
      const modelName = ctx.routing.alias ?? ctx.model;
      const mask = maskOf(model, new Set(allowed.map((c) => c.provider)));
      const balancing = model.load_balancing;
      if (balancing?.policy === 'latency' && !forbids(ctx, 'latency')) {
        // The fastest allowed target first, the others behind it as fallbacks (a preferred-first cluster).
        const providers = allowed.map((c) => c.provider);
        const preferred = providers[latency.choose(modelName, providers, balancing.exploration ?? 0.1)] as string;
        timed.set(ctx, { model: modelName, preferred });
        ctx.responseHeaders.set('x-tollgate-strategy', 'latency');
        ctx.upstream.setHeader(ROUTE_HEADER, preferredClusterName(modelName, mask, model.targets.findIndex((t) => t.provider === preferred)));
      } else {
        ctx.upstream.setHeader(ROUTE_HEADER, chainClusterName(modelName, mask));
      }
    }
    // Compressed SSE could not be read chunk by chunk; the provider must answer in plain bytes.
    ctx.upstream.removeHeader('accept-encoding');
    dropUnlistedClientHeaders(ctx, deps.config.catalog().config.requests?.forward_headers ?? []);
    ctx.upstream.clearRouteCache = true;
  }

  /**
   * How a latency-balanced request went: the answer's latency (first body bytes: the whole answer for JSON, the
   * first token for a stream) for the answering target when the preferred one answered at once; a failure sample
   * for the preferred one when it did not (Envoy fell back, or nothing answered).
   */
  function recordLatency(ctx: RequestContext): void {
    const measured = timed.get(ctx);
    if (!measured || ctx.cacheStatus === 'hit') return;
    const ms = (ctx.response.firstChunkAt ?? ctx.now()) - ctx.startedAt;
    const status = ctx.response.status ?? 0;
    if (ctx.provider === measured.preferred && (ctx.attemptCount ?? 1) === 1 && status > 0 && status < 500) {
      latency.record(measured.model, measured.preferred, ms);
    } else if (ctx.outcome !== 'aborted' || status >= 500) {
      latency.recordFailure(measured.model, measured.preferred, ms);
    }
  }

  return {
    name: 'route',
    onRequest(ctx: RequestContext): StageResult | Promise<StageResult> {
      const endpoint = ctx.endpoint;
      if (endpoint !== 'chat' && endpoint !== 'embeddings' && endpoint !== 'count-tokens') return;
      if (!ctx.tenant || !ctx.model || ctx.routing.candidates.length === 0) return;
      const choices = ctx.routing.choices;
      if (!choices) return proceed(ctx);
      const chosen = chooseMember(ctx, choices);
      if (chosen instanceof Promise) return chosen.then((result) => result ?? proceed(ctx));
      return chosen ?? proceed(ctx);
    },

    onResponseHeaders(ctx: RequestContext): void {
      // No answering provider: Envoy answered itself (no healthy upstream, timeout), already in OpenAI shape.
      if (!ctx.provider || (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings' && ctx.endpoint !== 'count-tokens')) return;
      const providerConfig = deps.config.catalog().provider(ctx.provider)?.config;
      if (!providerConfig) return;
      const adapter = providerAdapter(providerConfig.type);
      const info: ResponseInfo = {
        responsesDialect: ctx.dialect === 'responses' && ctx.endpoint === 'chat' && (adapter.speaksResponses?.(providerConfig) ?? false),
        thinkingBlocks: ctx.dialect === 'messages' && ctx.endpoint === 'chat',
        endpoint: ctx.endpoint === 'embeddings' ? 'embeddings' : 'chat',
        stream: ctx.stream,
        status: ctx.response.status ?? 0,
        clientWantsUsage: clientWantsUsage.has(ctx),
        requestId: ctx.requestId,
        createdAt: Math.floor(ctx.startedAt / 1000),
        upstreamModel: ctx.upstreamModel ?? ctx.model ?? '',
        request: clientBodies.get(ctx),
      };
      if (ctx.endpoint !== 'count-tokens') {
        translators.set(ctx, adapter.translateResponse(info));
        return;
      }
      // A count: read into Anthropic's form when the provider answers in its own (Gemini); Anthropic's goes as sent.
      const counted = adapter.countTokensResponse?.(info);
      if (counted) translators.set(ctx, counted);
    },

    onResponseChunk(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): Buffer | void {
      const translator = translators.get(ctx);
      if (!translator) return;
      const out = translator.onChunk(chunk, endOfStream);
      // The Messages dialect gives its client the stop reason chat cannot carry (stop_sequence and which one).
      if (ctx.messages && translator.anthropicStop) ctx.anthropicStop = translator.anthropicStop;
      // Not ctx.usage: that one is final only at the end (a stream the client abandons is metered by estimate).
      if (ctx.messages && translator.usage) ctx.providerUsage = translator.usage;
      if (endOfStream) {
        if (translator.usage) ctx.usage = translator.usage;
        if (translator.finishReasons.length > 0) ctx.finishReasons = translator.finishReasons;
        if (translator.truncated) ctx.outcome = 'aborted';
      }
      return out;
    },

    onResponseEnd(ctx: RequestContext): void {
      recordLatency(ctx);
      if (chained.has(ctx)) {
        ctx.attempts = deps.attempts.take(ctx.requestId);
      } else if (ctx.provider && ctx.upstreamModel && ctx.response.status !== null && !ctx.error && ctx.cacheStatus !== 'hit') {
        // (A cache hit names the provider that once answered; it made no attempt now.)
        // One provider: Envoy's same-provider retries are not seen by Tollgate one by one (no upstream filter on
        // this path, to keep it cheap); Envoy tells how many attempts it made, and each is recorded. Only the
        // answering attempt's status is known; earlier ones are recorded with status null.
        const earlier = Math.max(0, (ctx.attemptCount ?? 1) - 1);
        ctx.attempts = [];
        for (let i = 0; i < earlier; i++) ctx.attempts.push({ provider: ctx.provider, model: ctx.upstreamModel, status: null });
        ctx.attempts.push({ provider: ctx.provider, model: ctx.upstreamModel, status: ctx.response.status });
      }
    },
  };
}
