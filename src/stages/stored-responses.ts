import { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { chatMessagesToInputItems } from '../responses/request.ts';
import { ownerOf, type ResponseStore, type StoredResponse } from '../responses/response-store.ts';

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
      const itemsOnly = ctx.path.endsWith('/input_items');
      const parts = ctx.path.split('/');
      const id = parts[itemsOnly ? parts.length - 2 : parts.length - 1] ?? '';
      if (!store) return { respond: notFound(id) };
      const owner = ownerOf(ctx.tenant);
      if (ctx.method === 'DELETE') {
        return { respond: (await store.delete(id, owner)) ? json({ id, object: 'response', deleted: true }) : notFound(id) };
      }
      const stored = await store.get(id, owner);
      if (!stored) return { respond: notFound(id) };
      return { respond: json(itemsOnly ? inputItems(stored, id, ctx.requestHeaders.get(':path') ?? '') : stored.response) };
    },
  };
}

/**
 * GET /v1/responses/{id}/input_items: the input the response was made from (earlier turns included), as Responses
 * items with stable ids, newest first unless `order=asc`; `limit` (1–100, default 20) and `after` page through it.
 */
function inputItems(stored: StoredResponse, id: string, rawPath: string): unknown {
  const query = new URLSearchParams(rawPath.includes('?') ? rawPath.slice(rawPath.indexOf('?') + 1) : '');
  const items = chatMessagesToInputItems(stored.conversation.slice(0, stored.inputLength ?? stored.conversation.length))
    .map((item, index) => withId(item, `${id.replace(/^resp_/, 'item_')}_${index}`));
  if (query.get('order') !== 'asc') items.reverse();
  const after = query.get('after');
  const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
  const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 20) || 20));
  const page = items.slice(start, start + limit);
  return { object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: start + limit < items.length };
}

/** An input item as the API lists it: message contents as parts, every item with an id and a status. */
function withId(item: Record<string, unknown>, itemId: string): Record<string, unknown> & { id: string } {
  if (item.type === 'function_call' || item.type === 'function_call_output') return { id: itemId, ...item, status: 'completed' };
  const role = item.role;
  const content = typeof item.content === 'string'
    ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: item.content, ...(role === 'assistant' ? { annotations: [] } : {}) }]
    : item.content;
  return { id: itemId, type: 'message', role, content, status: 'completed' };
}
