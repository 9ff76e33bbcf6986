import type { ConfigHolder } from '../config/config-holder.ts';
import { ROUTE_HEADER } from '../envoy/render-envoy-config.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext, RouteCandidate, RoutingConstraints } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { CredentialResolver } from '../providers/credentials.ts';
import type { ResponseTranslator } from '../providers/provider-adapter.ts';
import { providerAdapter } from '../providers/registry.ts';

/** The candidates that no exclusion (tenant config, kill switch, policy) removed, in fallback order. */
export function allowedCandidates(routing: RoutingConstraints): RouteCandidate[] {
  return routing.candidates.filter((candidate) =>
    !routing.excludedProviders.has(candidate.provider) &&
    (routing.allowedRegions === null || (candidate.region !== null && routing.allowedRegions.has(candidate.region))));
}

/**
 * Chooses the provider among the allowed candidates, prepares the request for that
 * provider's API, and tells Envoy which route to take (x-tollgate-route + route cache refresh).
 * On the way back it hands the response body to the provider's adapter (usage, stream rewriting).
 */
export function routeStage(deps: { config: ConfigHolder; credentials: CredentialResolver }): Stage {
  const translators = new WeakMap<RequestContext, ResponseTranslator>();
  const upstreamModels = new WeakMap<RequestContext, string>();
  const clientWantsUsage = new WeakSet<RequestContext>();
  return {
    name: 'route',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings') return;
      if (!ctx.tenant || !ctx.model || ctx.routing.candidates.length === 0) return;
      const allowed = allowedCandidates(ctx.routing);
      if (allowed.length === 0) return { respond: errors.noAllowedProvider(ctx.model, ctx.routing.reasons) };
      const chosen = allowed[0] as RouteCandidate;
      const provider = deps.config.catalog().provider(chosen.provider);
      if (!provider) return { respond: errors.modelNotFound(ctx.model) };
      const credential = deps.credentials.get(provider.config);
      if (!credential && CredentialResolver.needsCredential(provider.config)) {
        return { respond: errors.providerUnavailable(provider.name, 'no credential is configured') };
      }
      ctx.provider = provider.name;
      if ((ctx.body?.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true) clientWantsUsage.add(ctx);
      const adapter = providerAdapter(provider.config.type);
      const upstreamModel = chosen.model;
      const outgoing = adapter.translateRequest({
        endpoint: ctx.endpoint,
        body: ctx.body ?? {},
        stream: ctx.stream,
        target: { providerName: provider.name, provider: provider.config, basePath: provider.basePath, upstreamModel, credential },
      });
      ctx.upstream.path = outgoing.path;
      for (const [name, value] of Object.entries(outgoing.headers)) ctx.upstream.setHeader(name, value);
      for (const name of outgoing.removeHeaders) ctx.upstream.removeHeader(name);
      ctx.body = outgoing.body;
      ctx.upstream.bodyChanged = true;
      upstreamModels.set(ctx, upstreamModel);
      // Compressed SSE could not be read chunk by chunk; the provider must answer in plain bytes.
      ctx.upstream.removeHeader('accept-encoding');
      ctx.upstream.setHeader(ROUTE_HEADER, provider.name);
      ctx.upstream.clearRouteCache = true;
    },

    onResponseHeaders(ctx: RequestContext): void {
      if (!ctx.provider || (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings')) return;
      const type = deps.config.catalog().provider(ctx.provider)?.config.type;
      if (!type) return;
      translators.set(ctx, providerAdapter(type).translateResponse({
        endpoint: ctx.endpoint,
        stream: ctx.stream,
        status: ctx.response.status ?? 0,
        clientWantsUsage: clientWantsUsage.has(ctx),
        requestId: ctx.requestId,
        createdAt: Math.floor(ctx.startedAt / 1000),
        upstreamModel: upstreamModels.get(ctx) ?? ctx.model ?? '',
      }));
    },

    onResponseChunk(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): Buffer | void {
      const translator = translators.get(ctx);
      if (!translator) return;
      const out = translator.onChunk(chunk, endOfStream);
      if (endOfStream) {
        if (translator.usage) ctx.usage = translator.usage;
        if (translator.truncated) ctx.outcome = 'aborted';
      }
      return out;
    },
  };
}
