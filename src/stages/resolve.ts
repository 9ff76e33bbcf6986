import type { Catalog } from '../config/catalog.ts';
import type { ConfigHolder } from '../config/config-holder.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext, Tenant } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import type { SemanticRoute } from '../config/types.ts';
import { candidatesOf, unionCandidates } from '../routing/member-candidates.ts';
import { chooseVariant, variantKey } from '../routing/variants.ts';

/** A semantic route's members: its routes' models and its default, each once (computed once per route config). */
const semanticMemberLists = new WeakMap<SemanticRoute, readonly string[]>();
function semanticMembers(route: SemanticRoute): readonly string[] {
  let members = semanticMemberLists.get(route);
  if (!members) semanticMemberLists.set(route, (members = [...new Set([...route.routes.map((r) => r.model), route.default])]));
  return members;
}

/** The providers a team may never use (config `exclude_providers`). */
function teamExclusions(catalog: Catalog, tenant: Tenant): readonly string[] {
  return catalog.config.orgs[tenant.org]?.teams[tenant.team]?.exclude_providers ?? [];
}

/** Whether a model has a provider the team may use. */
function usableBy(catalog: Catalog, model: string, excluded: readonly string[]): boolean {
  return candidatesOf(catalog, model).some((c) => !excluded.includes(c.provider));
}

/** A plain (not virtual) model's candidates, and its latency balancing when configured. */
function routeToModel(ctx: RequestContext, catalog: Catalog, routed: string): void {
  ctx.routing.alias = routed;
  ctx.routing.candidates = [...candidatesOf(catalog, routed)];
  ctx.routing.strategy = catalog.config.models[routed]?.load_balancing?.policy === 'latency' ? 'latency' : null;
}

/** Marks the candidates' providers the team may not use as excluded, each with its reason once. */
function excludeForTeam(ctx: RequestContext, team: string, excluded: readonly string[]): void {
  for (const provider of excluded) {
    if (!ctx.routing.candidates.some((c) => c.provider === provider)) continue;
    if (ctx.routing.excludedProviders.has(provider)) continue;
    ctx.routing.excludedProviders.add(provider);
    ctx.routing.reasons.push(`team ${team} may not use provider ${provider}`);
  }
}

/**
 * Moves an A/B-tested request to another of its alias's variants (a policy's route_variant): the variant's targets
 * become the candidates, less the team's excluded providers. Returns why not, or null once done.
 */
export function selectVariant(config: ConfigHolder, ctx: RequestContext, name: string): string | null {
  const tenant = ctx.tenant;
  if (!tenant || !ctx.model) return 'no tenant or model';
  const catalog = config.catalog();
  const variant = catalog.config.models[ctx.model]?.variants?.find((v) => v.name === name);
  if (!variant) return `${ctx.model} has no variant ${name}`;
  const excluded = teamExclusions(catalog, tenant);
  if (!usableBy(catalog, variant.model, excluded)) return `team ${tenant.team} may not use variant ${name}`;
  ctx.variant = variant.name;
  routeToModel(ctx, catalog, variant.model);
  excludeForTeam(ctx, tenant.team, excluded);
  return null;
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
      // A count_tokens request resolves like the message it counts: the same model access, the same candidates.
      if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings' && ctx.endpoint !== 'count-tokens') return;
      const tenant = ctx.tenant;
      const model = ctx.model;
      if (!tenant || !model) return;
      const catalog = deps.config.catalog();
      const access = catalog.access(tenant, model);
      if (!access.allowed) {
        return { respond: access.reason === 'unknown' ? errors.modelNotFound(model) : errors.modelNotAllowed(model, access.detail) };
      }
      if (access.model.kind !== (ctx.endpoint === 'count-tokens' ? 'chat' : ctx.endpoint)) {
        return {
          respond: errors.badRequest(`The model \`${model}\` does not support the ${ctx.endpoint} endpoint.`, 'model', 'model_not_supported'),
        };
      }
      const excluded = teamExclusions(catalog, tenant);
      let routed = model;
      if (access.model.variants) {
        // An A/B test: the caller's variant (sticky by hash), among those the team may use at all.
        const variant = chooseVariant(model, variantKey(access.model, tenant), access.model.variants, (v) => usableBy(catalog, v.model, excluded));
        if (!variant) return { respond: errors.noAllowedProvider(model, [`team ${tenant.team} may use none of the variants`]) };
        ctx.variant = variant.name;
        routed = variant.model;
      }
      const route = access.model.route;
      if (route) {
        // A virtual model: every member's targets are candidates, so exclusions and policy see them all; the route
        // stage then picks one member among what is left.
        const members = route.strategy === 'cost' ? route.models : semanticMembers(route);
        ctx.routing.alias = routed;
        ctx.routing.choices = members;
        ctx.routing.strategy = route.strategy;
        ctx.routing.candidates = [...unionCandidates(catalog, model, members)];
      } else {
        routeToModel(ctx, catalog, routed);
      }
      if (ctx.routing.candidates.length === 0) return { respond: errors.modelNotFound(model) };
      excludeForTeam(ctx, tenant.team, excluded);
    },
  };
}
