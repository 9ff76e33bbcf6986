import type { ConfigHolder } from '../config/config-holder.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext, RouteCandidate } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

const json = (payload: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });

/**
 * What a model can do, when its targets declare it (capability routing): what at least one target can do, and the
 * largest context window. Models that declare nothing are listed exactly as OpenAI lists them.
 */
function declaredCapabilities(candidates: RouteCandidate[]): { capabilities?: string[]; context_window?: number } {
  const capabilities = new Set<string>();
  let declared = false;
  let window = 0;
  for (const candidate of candidates) {
    if (candidate.capabilities) {
      declared = true;
      for (const capability of candidate.capabilities) capabilities.add(capability);
    }
    if (candidate.contextWindow && candidate.contextWindow > window) window = candidate.contextWindow;
  }
  return { ...(declared ? { capabilities: [...capabilities].sort() } : {}), ...(window ? { context_window: window } : {}) };
}

/**
 * GET /v1/models and GET /v1/models/{model}: the models this key may use, in OpenAI's format, answered by the
 * gateway itself. A model the key may not use does not exist for it (404), as with OpenAI.
 */
export function modelsStage(deps: { config: ConfigHolder; now: () => number }): Stage {
  return {
    name: 'models',
    onRequest(ctx: RequestContext): StageResult {
      if ((ctx.endpoint !== 'models' && ctx.endpoint !== 'model') || !ctx.tenant) return;
      const catalog = deps.config.catalog();
      const created = Math.floor(deps.now() / 1000);
      const describe = (id: string) => ({
        id, object: 'model', created, owned_by: catalog.config.models[id]?.provider ?? 'tollgate',
        ...declaredCapabilities(catalog.candidates(id)),
      });
      if (ctx.endpoint === 'models') {
        return { respond: json({ object: 'list', data: catalog.modelsFor(ctx.tenant).map(describe) }) };
      }
      const model = ctx.model ?? '';
      return { respond: catalog.access(ctx.tenant, model).allowed ? json(describe(model)) : errors.modelNotFound(model) };
    },
  };
}
