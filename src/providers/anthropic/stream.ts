import type { Usage } from '../../pipeline/context.ts';
import type { AnthropicStop, ResponseInfo, ResponseTranslator } from '../provider-adapter.ts';
import { streamTruncatedEvent } from '../shared/errors.ts';
import { eventData, SseFramer } from '../shared/sse.ts';
import { FinishReasons } from '../shared/finish-reasons.ts';
import { openAIErrorTypeForAnthropic } from './errors.ts';
import { finishReasonFor } from './stop-reasons.ts';
import { isStructuredOutput } from './structured-output.ts';
import { fromAnthropicUsage, toOpenAIUsage } from './usage.ts';
import type { AnthropicUsage, ResponseBlock } from './wire.ts';

/** One parsed Anthropic stream event (its `data:` JSON); fields by event type. */
interface StreamEvent {
  type?: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage };
  content_block?: ResponseBlock;
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string | null; stop_sequence?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

type Delta = Record<string, unknown>;

/**
 * Anthropic's stream events → OpenAI `chat.completion.chunk` events, translated as each event arrives (an event
 * split across network reads waits for its tail, nothing more). Every chunk carries the id/created/model of
 * message_start. Usage: input tokens come in message_start, cumulative output tokens in message_delta.
 *
 * The end: message_stop → (usage chunk, when the client asked for it) + `data: [DONE]`. An `event: error` becomes an
 * OpenAI-shaped error event and ends the translation; a stream that stops without message_stop gets
 * `streamTruncatedEvent()`. Either way `truncated` is true and the client never sees a clean end.
 */
export class AnthropicStreamTranslator implements ResponseTranslator {
  truncated = false;
  anthropicStop: AnthropicStop | null = null;
  private readonly framer = new SseFramer();
  private readonly info: ResponseInfo;
  private id: string;
  private model: string;
  private usageSoFar: AnthropicUsage | null = null;
  /** Anthropic numbers content blocks; OpenAI numbers tool calls. Block index → tool call index. */
  private readonly toolCallIndex = new Map<number, number>();
  /** The block index of the structured output (response_format's tool), whose input JSON streams as content. */
  private structuredBlock: number | null = null;
  private ended = false;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

  private readonly handlers: Readonly<Record<string, (event: StreamEvent) => string>> = {
    message_start: (e) => this.onMessageStart(e),
    content_block_start: (e) => this.onBlockStart(e),
    content_block_delta: (e) => this.onBlockDelta(e),
    message_delta: (e) => this.onMessageDelta(e),
    message_stop: () => this.onMessageStop(),
    error: (e) => this.onError(e),
    // content_block_stop and ping carry nothing an OpenAI client needs; unknown (newer) events are skipped too.
  };

  constructor(info: ResponseInfo) {
    this.info = info;
    this.id = `chatcmpl-${info.requestId}`;
    this.model = info.upstreamModel;
  }

  get usage(): Usage | null {
    return fromAnthropicUsage(this.usageSoFar);
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer {
    let out = '';
    for (const event of this.framer.push(chunk)) out += this.translate(event);
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) out += this.translate(rest);
      if (!this.ended) {
        this.ended = true;
        this.truncated = true;
        out += streamTruncatedEvent();
      }
    }
    return Buffer.from(out);
  }

  private translate(raw: string): string {
    if (this.ended) return '';
    const data = eventData(raw);
    if (data === null) return '';
    let event: StreamEvent;
    try {
      event = JSON.parse(data) as StreamEvent;
    } catch {
      return '';
    }
    const handle = this.handlers[event.type ?? ''];
    return handle ? handle(event) : '';
  }

  private chunk(delta: Delta, finishReason: string | null = null): string {
    this.finished.note(0, finishReason);
    return this.frame({ choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  }

  private frame(fields: Record<string, unknown>): string {
    // With include_usage OpenAI puts "usage":null on every chunk but the last; clients may test for null.
    const usage = this.info.clientWantsUsage && !('usage' in fields) ? { usage: null } : {};
    const chunk = { id: this.id, object: 'chat.completion.chunk', created: this.info.createdAt, model: this.model, ...fields, ...usage };
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }

  private onMessageStart(e: StreamEvent): string {
    if (e.message?.id) this.id = e.message.id;
    if (e.message?.model) this.model = e.message.model;
    this.usageSoFar = { ...e.message?.usage };
    return this.chunk({ role: 'assistant', content: '' });
  }

  private onBlockStart(e: StreamEvent): string {
    const block = e.content_block;
    if (block?.type === 'text' && block.text) return this.chunk({ content: block.text });
    // Extended thinking of a /v1/messages client (see thinkingBlocks in response.ts): each block starts with a piece.
    if (block?.type === 'thinking') return block.thinking && this.info.thinkingBlocks ? this.chunk({ reasoning_content: block.thinking, thinking_blocks: [{ type: 'thinking', thinking: block.thinking }] }) : '';
    if (block?.type === 'redacted_thinking') return this.info.thinkingBlocks ? this.chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: block.data ?? '' }] }) : '';
    if (block?.type !== 'tool_use') return '';
    if (isStructuredOutput(block)) {
      this.structuredBlock = e.index ?? -1;
      return '';
    }
    const index = this.toolCallIndex.size;
    this.toolCallIndex.set(e.index ?? -1, index);
    return this.chunk({ tool_calls: [{ index, id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: '' } }] });
  }

  private onBlockDelta(e: StreamEvent): string {
    const delta = e.delta;
    if (delta?.type === 'text_delta' && delta.text) return this.chunk({ content: delta.text });
    if (delta?.type === 'input_json_delta' && delta.partial_json) {
      if (e.index === this.structuredBlock) return this.chunk({ content: delta.partial_json });
      const index = this.toolCallIndex.get(e.index ?? -1);
      if (index === undefined) return '';
      return this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] });
    }
    // Extended thinking of a /v1/messages client: pieces of the current thinking block. An OpenAI client's thinking
    // (reasoning_effort) is not content, and OpenAI chunks have no place for it.
    if (this.info.thinkingBlocks && delta?.type === 'thinking_delta' && delta.thinking) return this.chunk({ reasoning_content: delta.thinking, thinking_blocks: [{ type: 'thinking', thinking: delta.thinking }] });
    if (this.info.thinkingBlocks && delta?.type === 'signature_delta' && delta.signature) return this.chunk({ thinking_blocks: [{ type: 'thinking', signature: delta.signature }] });
    return '';
  }

  private onMessageDelta(e: StreamEvent): string {
    // message_delta usage is cumulative; newer API versions repeat the input counts there too.
    if (e.usage) this.usageSoFar = { ...this.usageSoFar, ...definedOnly(e.usage) };
    if (typeof e.delta?.stop_reason === 'string') this.anthropicStop = { reason: e.delta.stop_reason, sequence: e.delta.stop_sequence ?? null };
    // The forced output tool is how the answer ends, not a call for the client to make.
    const structuredEnd = e.delta?.stop_reason === 'tool_use' && this.structuredBlock !== null && this.toolCallIndex.size === 0;
    return this.chunk({}, structuredEnd ? 'stop' : finishReasonFor(e.delta?.stop_reason));
  }

  private onMessageStop(): string {
    this.ended = true;
    const usage = this.usage;
    const usageChunk = this.info.clientWantsUsage && usage ? this.frame({ choices: [], usage: toOpenAIUsage(usage) }) : '';
    return `${usageChunk}data: [DONE]\n\n`;
  }

  private onError(e: StreamEvent): string {
    this.ended = true;
    this.truncated = true;
    const type = e.error?.type ?? 'api_error';
    const error = { message: e.error?.message || 'The provider failed mid-stream.', type: openAIErrorTypeForAnthropic(type), code: type, param: null };
    return `data: ${JSON.stringify({ error })}\n\n`;
  }
}

function definedOnly(usage: AnthropicUsage): AnthropicUsage {
  return Object.fromEntries(Object.entries(usage).filter(([, v]) => v !== null && v !== undefined)) as AnthropicUsage;
}
