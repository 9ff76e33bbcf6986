import type { ConfigHolder } from '../config/config-holder.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import type { SemanticRoute } from '../config/types.ts';
import { unionCandidates } from '../routing/member-candidates.ts';
import { chooseVariant, variantKey } from '../routing/variants.ts';

/** A semantic route's members: its routes' models and its default, each once (computed once per route config). */
const semanticMemberLists = new WeakMap<SemanticRoute, readonly string[]>();
function semanticMembers(route: SemanticRoute): readonly string[] {
  let members = semanticMemberLists.get(route);
  if (!members) semanticMemberLists.set(route, (members = [...new Set([...route.routes.map((r) => r.model), route.default])]));
  return members;
}

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
      const excluded = catalog.config.orgs[tenant.org]?.teams[tenant.team]?.exclude_providers ?? [];
      let routed = model;
      if (access.model.variants) {
        // An A/B test: the caller's variant (sticky by hash), among those the team may use at all.
        const usable = (name: string) => catalog.candidates(name).some((c) => !excluded.includes(c.provider));
        const variant = chooseVariant(model, variantKey(access.model, tenant), access.model.variants, (v) => usable(v.model));
        if (!variant) return { respond: errors.noAllowedProvider(model, [`team ${tenant.team} may use none of the variants`]) };
        ctx.variant = variant.name;
        routed = variant.model;
      }
      ctx.routing.alias = routed;
      const route = access.model.route;
      if (route) {
        // A virtual model: every member's targets are candidates, so exclusions and policy see them all; the route
        // stage then picks one member among what is left.
        const members = route.strategy === 'cost' ? route.models : semanticMembers(route);
        ctx.routing.choices = members;
        ctx.routing.strategy = route.strategy;
        ctx.routing.candidates = [...unionCandidates(catalog, model, members)];
      } else {
        ctx.routing.candidates = catalog.candidates(routed);
        if (catalog.config.models[routed]?.load_balancing?.policy === 'latency') ctx.routing.strategy = 'latency';
      }
      if (ctx.routing.candidates.length === 0) return { respond: errors.modelNotFound(model) };
      for (const provider of excluded) {
        if (!ctx.routing.candidates.some((c) => c.provider === provider)) continue;
        if (ctx.routing.excludedProviders.has(provider)) continue;
        ctx.routing.excludedProviders.add(provider);
        ctx.routing.reasons.push(`team ${tenant.team} may not use provider ${provider}`);
      }
    },
  };
}
