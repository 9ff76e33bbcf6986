import type { ConfigHolder } from '../config/config-holder.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

/** GET /v1/models: the models this key may use, in OpenAI's list format, answered by the gateway itself. */
export function modelsStage(deps: { config: ConfigHolder; now: () => number }): Stage {
  return {
    name: 'models',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.endpoint !== 'models' || !ctx.tenant) return;
      const catalog = deps.config.catalog();
      const created = Math.floor(deps.now() / 1000);
      const data = catalog.modelsFor(ctx.tenant).map((id) => ({
        id,
        object: 'model',
        created,
        owned_by: catalog.config.models[id]?.provider ?? 'tollgate',
      }));
      return {
        respond: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ object: 'list', data }) },
      };
    },
  };
}
