import type { ConfigHolder } from '../config/config-holder.ts';
import { ROUTE_HEADER } from '../envoy/render-envoy-config.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { CredentialResolver } from '../providers/credentials.ts';
import type { ResponseTransformer } from '../providers/provider-adapter.ts';
import { providerAdapters } from '../providers/registry.ts';

/**
 * Chooses the provider for the requested model (after the tenant's model scopes), prepares the request for that
 * provider's API, and tells Envoy which route to take (x-tollgate-route + route cache refresh).
 * On the way back it hands the response body to the provider's adapter (usage, stream rewriting).
 */
export function routeStage(deps: { config: ConfigHolder; credentials: CredentialResolver }): Stage {
  const transformers = new WeakMap<RequestContext, ResponseTransformer>();
  return {
    name: 'route',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings') return;
      const tenant = ctx.tenant;
      const model = ctx.model;
      if (!tenant || !model) return;
      const catalog = deps.config.catalog();
      const access = catalog.access(tenant, model);
      if (!access.allowed) {
        return { respond: access.reason === 'unknown' ? errors.modelNotFound(model) : errors.modelNotAllowed(model, access.detail) };
      }
      if (access.model.kind !== ctx.endpoint) {
        return {
          respond: errors.badRequest(`The model \`${model}\` does not support the ${ctx.endpoint} endpoint.`, 'model', 'model_not_supported'),
        };
      }
      const provider = catalog.provider(access.model.provider);
      if (!provider) return { respond: errors.modelNotFound(model) };
      const credential = deps.credentials.get(provider.config);
      if (!credential && CredentialResolver.needsCredential(provider.config)) {
        return { respond: errors.providerUnavailable(provider.name, 'no credential is configured') };
      }
      ctx.provider = provider.name;
      providerAdapters[provider.config.type].prepareRequest(ctx, {
        provider,
        upstreamModel: access.model.upstream_model ?? model,
        credential,
      });
      // Compressed SSE could not be read chunk by chunk; the provider must answer in plain bytes.
      ctx.upstream.removeHeader('accept-encoding');
      ctx.upstream.setHeader(ROUTE_HEADER, provider.name);
      ctx.upstream.clearRouteCache = true;
    },

    onResponseHeaders(ctx: RequestContext): void {
      if (!ctx.provider) return;
      const type = deps.config.catalog().provider(ctx.provider)?.config.type;
      const transformer = type ? providerAdapters[type].responseTransformer(ctx) : null;
      if (transformer) transformers.set(ctx, transformer);
    },

    onResponseChunk(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): Buffer | void {
      return transformers.get(ctx)?.onChunk(chunk, endOfStream);
    },
  };
}
