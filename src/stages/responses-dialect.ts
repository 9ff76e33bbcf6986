import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.ts';
import type { DirectAnswer, Stage } from '../pipeline/stage.ts';
import { BufferedBody } from '../providers/shared/buffered-body.ts';
import { chatCompletionToResponse, responseAsChatMessages } from '../responses/response.ts';
import { ownerOf, type ResponseStore } from '../responses/response-store.ts';
import { ChatToResponsesStream } from '../responses/to-responses-stream.ts';

type Converter = { kind: 'stream'; stream: ChatToResponsesStream } | { kind: 'json'; body: BufferedBody };

type Json = Record<string, unknown>;

function renderJson(ctx: RequestContext, raw: Buffer, finals: WeakMap<RequestContext, Json>): Buffer {
  const echo = ctx.responses?.echo;
  if (!echo) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return raw;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return raw;
  const response = chatCompletionToResponse(parsed as Record<string, unknown>, {
    requestId: ctx.requestId, createdAt: Math.floor(ctx.startedAt / 1000), echo,
  });
  finals.set(ctx, response);
  return Buffer.from(JSON.stringify(response));
}

function newStream(ctx: RequestContext): ChatToResponsesStream | null {
  if (!ctx.responses) return null;
  return new ChatToResponsesStream({
    requestId: ctx.requestId, createdAt: Math.floor(ctx.startedAt / 1000), echo: ctx.responses.echo,
    model: ctx.upstreamModel ?? ctx.model ?? '',
  });
}

/**
 * The Responses API's answers. A /v1/responses request ran every stage in its chat form, and everything before this
 * stage (route translation, output guardrails, cache, quota settlement) reads and writes chat answers; here, last,
 * the chat answer becomes a Response object, or chat chunks become the Responses stream events. The gateway's own
 * answers (cache hits, stale/default answers) get the same treatment. Errors already have OpenAI's error shape,
 * which the Responses API shares, and pass unchanged.
 */
export function responsesDialectStage(deps: { logger?: Logger; responseStore?: () => ResponseStore | null } = {}): Stage {
  const converters = new WeakMap<RequestContext, Converter>();
  /** The Response each request answered with (JSON, stream or the gateway's own answer), for the response store. */
  const finals = new WeakMap<RequestContext, Json>();
  return {
    name: 'responses-dialect',

    onResponseChunk(ctx, chunk, endOfStream): Buffer | void {
      if (ctx.dialect !== 'responses' || ctx.response.status !== 200) return;
      let converter = converters.get(ctx);
      if (!converter) {
        const stream = ctx.response.streaming ? newStream(ctx) : null;
        converter = stream ? { kind: 'stream', stream } : { kind: 'json', body: new BufferedBody() };
        converters.set(ctx, converter);
      }
      if (converter.kind === 'stream') return converter.stream.push(chunk, endOfStream);
      const whole = converter.body.push(chunk, endOfStream);
      return whole ? renderJson(ctx, whole, finals) : Buffer.alloc(0);
    },

    onDirectAnswer(ctx, answer): DirectAnswer | void {
      if (ctx.dialect !== 'responses' || answer.status !== 200) return;
      const raw = Buffer.from(answer.body);
      if ((answer.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        const stream = newStream(ctx);
        if (!stream) return;
        const body = stream.push(raw, true).toString('utf8');
        if (stream.finalResponse) finals.set(ctx, stream.finalResponse);
        return { ...answer, body };
      }
      return { ...answer, body: renderJson(ctx, raw, finals).toString('utf8') };
    },

    /** `store`: the finished Response and its conversation go to the response store, after the client has it. */
    async onResponseEnd(ctx): Promise<void> {
      if (!ctx.responses?.store || !ctx.tenant || ctx.outcome !== 'completed') return;
      const converter = converters.get(ctx);
      const response = converter?.kind === 'stream' ? converter.stream.finalResponse : finals.get(ctx);
      const store = deps.responseStore?.();
      if (!response || !store) return;
      try {
        await store.put({
          owner: ownerOf(ctx.tenant),
          response,
          conversation: [...ctx.responses.conversation, ...responseAsChatMessages(response)],
          inputLength: ctx.responses.conversation.length,
        });
      } catch (error) {
        deps.logger?.warn({ err: error, request_id: ctx.requestId }, 'response not stored');
      }
    },
  };
}
