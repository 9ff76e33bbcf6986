import { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { ownerOf, type ResponseStore } from '../responses/response-store.ts';

const json = (payload: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });

const notFound = (id: string) => new GatewayError({
  status: 404, type: 'invalid_request_error', code: 'response_not_found', param: 'response_id',
  message: `Response with id '${id}' not found.`,
});

/**
 * GET and DELETE /v1/responses/{id}: stored responses, answered by the gateway itself. A response of another app
 * (or an expired one) does not exist for the caller. The validate stage recognises the path, and only when a
 * response store is configured.
 */
export function storedResponsesStage(deps: { responseStore: () => ResponseStore | null }): Stage {
  return {
    name: 'stored-responses',
    async onRequest(ctx: RequestContext): Promise<StageResult> {
      if (ctx.endpoint !== 'stored-response' || !ctx.tenant) return;
      const store = deps.responseStore();
      const id = ctx.path.slice(ctx.path.lastIndexOf('/') + 1);
      if (!store) return { respond: notFound(id) };
      const owner = ownerOf(ctx.tenant);
      if (ctx.method === 'DELETE') {
        return { respond: (await store.delete(id, owner)) ? json({ id, object: 'response', deleted: true }) : notFound(id) };
      }
      const stored = await store.get(id, owner);
      return { respond: stored ? json(stored.response) : notFound(id) };
    },
  };
}
