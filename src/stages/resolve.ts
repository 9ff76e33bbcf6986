import type { ConfigHolder } from '../config/config-holder.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

/**
 * Resolves the requested model (or alias) into the providers that may serve it, in fallback order, after the
 * tenant's model scopes. It fills ctx.routing.candidates; guardrails, policy and kill switches narrow them before
 * the route stage chooses.
 */
export function resolveStage(deps: { config: ConfigHolder }): Stage {
  return {
    name: 'resolve',
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
      ctx.routing.alias = model;
      ctx.routing.candidates = catalog.candidates(model);
      if (ctx.routing.candidates.length === 0) return { respond: errors.modelNotFound(model) };
      const excluded = catalog.config.orgs[tenant.org]?.teams[tenant.team]?.exclude_providers ?? [];
      for (const provider of excluded) {
        if (!ctx.routing.candidates.some((c) => c.provider === provider)) continue;
        ctx.routing.excludedProviders.add(provider);
        ctx.routing.reasons.push(`team ${tenant.team} may not use provider ${provider}`);
      }
    },
  };
}
