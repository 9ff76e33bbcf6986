import type { RequestContext } from '../pipeline/context.ts';
import type { DirectAnswer, Stage } from '../pipeline/stage.ts';
import { BufferedBody } from '../providers/shared/buffered-body.ts';
import { openAIErrorBodyAsAnthropic } from '../messages/errors.ts';
import { chatCompletionToMessage } from '../messages/response.ts';
import { ChatToMessagesStream } from '../messages/to-messages-stream.ts';

type Converter = { kind: 'stream'; stream: ChatToMessagesStream } | { kind: 'whole'; body: BufferedBody };

/** A whole chat body (answer or error) in Anthropic's form; a body that is not JSON passes as an error text. */
function renderWhole(ctx: RequestContext, status: number, raw: Buffer): Buffer {
  if (status !== 200) return openAIErrorBodyAsAnthropic(status, raw);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return openAIErrorBodyAsAnthropic(502, raw);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return openAIErrorBodyAsAnthropic(502, raw);
  const message = chatCompletionToMessage(parsed as Record<string, unknown>, {
    requestId: ctx.requestId, model: ctx.upstreamModel ?? ctx.model ?? '', usage: ctx.usage, stop: ctx.anthropicStop,
  });
  return Buffer.from(JSON.stringify(message));
}

const newStream = (ctx: RequestContext) =>
  new ChatToMessagesStream({ requestId: ctx.requestId, model: ctx.upstreamModel ?? ctx.model ?? '', stop: () => ctx.anthropicStop, usage: () => ctx.providerUsage });

/**
 * Anthropic's Messages API (POST /v1/messages) answers. The request ran every stage in its chat form, and
 * everything before this stage (route translation, output guardrails, cache, quota settlement) reads and writes chat
 * answers, whichever provider answered (an Anthropic one included: its answer was read into chat by the route);
 * here, last, the chat answer becomes an Anthropic Message, chat chunks become Anthropic's stream events, and
 * error bodies (a provider's, or Envoy's own replies) take Anthropic's error shape. The gateway's own answers
 * (cache hits, stale/default answers) get the same treatment; its own errors are rendered in Anthropic's shape by
 * the pipeline (src/errors/render.ts).
 */
export function messagesDialectStage(): Stage {
  const converters = new WeakMap<RequestContext, Converter>();
  const countErrors = new WeakMap<RequestContext, BufferedBody>();

  /**
   * A provider's count (`{"input_tokens": N}`) is already Anthropic's answer and passes as is; an error body (the
   * provider's own, already in Anthropic's shape, or an Envoy local reply in OpenAI's) is made Anthropic's.
   */
  function countTokensChunk(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): Buffer | void {
    const status = ctx.response.status ?? 502;
    if (status === 200) return;
    let body = countErrors.get(ctx);
    if (!body) countErrors.set(ctx, (body = new BufferedBody()));
    const whole = body.push(chunk, endOfStream);
    return whole ? openAIErrorBodyAsAnthropic(status, whole) : Buffer.alloc(0);
  }
  return {
    name: 'messages-dialect',

    onResponseChunk(ctx, chunk, endOfStream): Buffer | void {
      if (ctx.dialect !== 'messages') return;
      if (ctx.endpoint === 'count-tokens') return countTokensChunk(ctx, chunk, endOfStream);
      if (ctx.endpoint !== 'chat') return;
      let converter = converters.get(ctx);
      if (!converter) {
        converter = ctx.response.streaming ? { kind: 'stream', stream: newStream(ctx) } : { kind: 'whole', body: new BufferedBody() };
        converters.set(ctx, converter);
      }
      if (converter.kind === 'stream') return converter.stream.push(chunk, endOfStream);
      const whole = converter.body.push(chunk, endOfStream);
      return whole ? renderWhole(ctx, ctx.response.status ?? 502, whole) : Buffer.alloc(0);
    },

    onDirectAnswer(ctx, answer): DirectAnswer | void {
      if (ctx.dialect !== 'messages' || ctx.endpoint !== 'chat') return;
      const raw = Buffer.from(answer.body);
      if ((answer.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        return { ...answer, body: newStream(ctx).push(raw, true).toString('utf8') };
      }
      return { ...answer, body: renderWhole(ctx, answer.status, raw).toString('utf8') };
    },
  };
}
