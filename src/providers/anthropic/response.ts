import type { Usage } from '../../pipeline/context.ts';
import type { ResponseInfo, ResponseTranslator } from '../provider-adapter.ts';
import { BufferedBody } from '../shared/buffered-body.ts';
import { toOpenAIErrorBody } from '../shared/errors.ts';
import { readAnthropicError } from './errors.ts';
import { finishReasonFor } from './stop-reasons.ts';
import { isStructuredOutput } from './structured-output.ts';
import { fromAnthropicUsage, toOpenAIUsage } from './usage.ts';
import type { MessagesResponse } from './wire.ts';

export const PROVIDER_LABEL = 'Anthropic';

/** An Anthropic Messages response → an OpenAI `chat.completion`, with the usage it reports. */
export function toChatCompletion(message: MessagesResponse, info: ResponseInfo): { completion: Record<string, unknown>; usage: Usage | null } {
  const blocks = message.content ?? [];
  // Thinking blocks are the model's reasoning, never content; the structured output comes back as the content.
  const structured = blocks.find(isStructuredOutput);
  const text = structured ? JSON.stringify(structured.input ?? {}) : blocks.filter((b) => b.type === 'text').map((b) => b.text ?? '').join('');
  const toolCalls = blocks
    .filter((b) => b.type === 'tool_use' && !isStructuredOutput(b))
    .map((b) => ({ id: b.id ?? '', type: 'function', function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) } }));
  const usage = fromAnthropicUsage(message.usage);
  const completion: Record<string, unknown> = {
    id: message.id ?? `chatcmpl-${info.requestId}`,
    object: 'chat.completion',
    created: info.createdAt,
    model: message.model ?? info.upstreamModel,
    choices: [{
      index: 0,
      message: {
        role: 'assistant',
        // OpenAI sends null content beside tool calls when the model said nothing else.
        content: text === '' && toolCalls.length > 0 ? null : text,
        refusal: null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      },
      logprobs: null,
      // The forced output tool is how the answer ends, not a call for the client to make.
      finish_reason: structured && toolCalls.length === 0 && message.stop_reason === 'tool_use' ? 'stop' : finishReasonFor(message.stop_reason),
    }],
  };
  if (usage) completion.usage = toOpenAIUsage(usage);
  return { completion, usage };
}

/** JSON answers (and every non-200): held back until whole, then rewritten in one piece. */
export class AnthropicJsonTranslator implements ResponseTranslator {
  usage: Usage | null = null;
  readonly truncated = false;
  private readonly body = new BufferedBody();
  private readonly info: ResponseInfo;

  constructor(info: ResponseInfo) {
    this.info = info;
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer {
    const whole = this.body.push(chunk, endOfStream);
    if (!whole) return Buffer.alloc(0);
    if (this.info.status !== 200) return toOpenAIErrorBody(this.info.status, whole, PROVIDER_LABEL, readAnthropicError);
    let message: MessagesResponse;
    try {
      message = JSON.parse(whole.toString('utf8')) as MessagesResponse;
    } catch {
      // The status is already sent; an OpenAI-shaped error body at least tells the client what happened.
      return Buffer.from(JSON.stringify({
        error: { message: `${PROVIDER_LABEL} sent a response that is not valid JSON.`, type: 'api_error', code: 'invalid_provider_response', param: null },
      }));
    }
    const { completion, usage } = toChatCompletion(message, this.info);
    this.usage = usage;
    return Buffer.from(JSON.stringify(completion));
  }
}
