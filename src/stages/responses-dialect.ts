import type { RequestContext } from '../pipeline/context.ts';
import type { DirectAnswer, Stage } from '../pipeline/stage.ts';
import { BufferedBody } from '../providers/shared/buffered-body.ts';
import { chatCompletionToResponse } from '../responses/response.ts';
import { ChatToResponsesStream } from '../responses/to-responses-stream.ts';

type Converter = { kind: 'stream'; stream: ChatToResponsesStream } | { kind: 'json'; body: BufferedBody };

function renderJson(ctx: RequestContext, raw: Buffer): Buffer {
  const echo = ctx.responsesEcho;
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
  return Buffer.from(JSON.stringify(response));
}

function newStream(ctx: RequestContext): ChatToResponsesStream | null {
  if (!ctx.responsesEcho) return null;
  return new ChatToResponsesStream({
    requestId: ctx.requestId, createdAt: Math.floor(ctx.startedAt / 1000), echo: ctx.responsesEcho,
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
export function responsesDialectStage(): Stage {
  const converters = new WeakMap<RequestContext, Converter>();
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
      return whole ? renderJson(ctx, whole) : Buffer.alloc(0);
    },

    onDirectAnswer(ctx, answer): DirectAnswer | void {
      if (ctx.dialect !== 'responses' || answer.status !== 200) return;
      const raw = Buffer.from(answer.body);
      if ((answer.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        const stream = newStream(ctx);
        if (!stream) return;
        return { ...answer, body: stream.push(raw, true).toString('utf8') };
      }
      return { ...answer, body: renderJson(ctx, raw).toString('utf8') };
    },
  };
}
