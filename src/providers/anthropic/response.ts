import type { Usage } from '../../pipeline/context.ts';
import type { AnthropicStop, ResponseInfo, ResponseTranslator } from '../provider-adapter.ts';
import { BufferedBody } from '../shared/buffered-body.ts';
import { toOpenAIErrorBody } from '../shared/errors.ts';
import { readAnthropicError } from './errors.ts';
import { finishReasonFor } from './stop-reasons.ts';
import { FinishReasons } from '../shared/finish-reasons.ts';
import { isStructuredOutput } from './structured-output.ts';
import { fromAnthropicUsage, toOpenAIUsage } from './usage.ts';
import type { MessagesResponse, ResponseBlock } from './wire.ts';

export const PROVIDER_LABEL = 'Anthropic';

/**
 * Extended thinking of a /v1/messages client (it reaches Anthropic in that client's own body): its blocks ride in the
 * chat form as `thinking_blocks` (with `reasoning_content`, the convention other gateways use), so the Messages
 * dialect can give them back; Anthropic needs them again in the next turn of a tool loop. An OpenAI client's thinking
 * (reasoning_effort) never reaches it: OpenAI answers carry no reasoning.
 */
function thinkingBlocks(blocks: ResponseBlock[]): ResponseBlock[] {
  return blocks
    .filter((b) => b.type === 'thinking' || b.type === 'redacted_thinking')
    .map((b) => (b.type === 'thinking' ? { type: 'thinking', thinking: b.thinking ?? '', signature: b.signature ?? '' } : { type: 'redacted_thinking', data: b.data ?? '' }));
}

/** An Anthropic Messages response → an OpenAI `chat.completion`, with the usage it reports. */
export function toChatCompletion(message: MessagesResponse, info: ResponseInfo): { completion: Record<string, unknown>; usage: Usage | null } {
  const blocks = message.content ?? [];
  // Thinking blocks are the model's reasoning, never content (see thinkingBlocks); the structured output comes back
  // as the content.
  const structured = blocks.find(isStructuredOutput);
  const text = structured ? JSON.stringify(structured.input ?? {}) : blocks.filter((b) => b.type === 'text').map((b) => b.text ?? '').join('');
  const toolCalls = blocks
    .filter((b) => b.type === 'tool_use' && !isStructuredOutput(b))
    .map((b) => ({ id: b.id ?? '', type: 'function', function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) } }));
  const thinking = info.thinkingBlocks ? thinkingBlocks(blocks) : [];
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
        ...(thinking.length > 0 ? { reasoning_content: thinking.map((b) => b.thinking ?? '').join(''), thinking_blocks: thinking } : {}),
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
  anthropicStop: AnthropicStop | null = null;
  readonly truncated = false;
  private readonly body = new BufferedBody();
  private readonly info: ResponseInfo;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

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
    this.finished.noteCompletion(completion);
    if (typeof message.stop_reason === 'string') this.anthropicStop = { reason: message.stop_reason, sequence: message.stop_sequence ?? null };
    return Buffer.from(JSON.stringify(completion));
  }
}
