import { chatStreamEvent, SseFramer } from '../providers/shared/sse.ts';
import { openAIErrorAsAnthropic } from './errors.ts';
import type { AnthropicStop } from '../providers/provider-adapter.ts';
import type { Usage } from '../pipeline/context.ts';
import { anthropicUsage, messageIdFor, stopReasonFor } from './response.ts';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/**
 * Turns a chat.completion.chunk stream (what every stage after the route reads, whichever provider answered) into
 * Anthropic's stream events with its exact framing (`event: <type>` + `data: {"type":"<type>",…}`):
 * message_start, ping, then per content block content_block_start, content_block_delta (text_delta or
 * input_json_delta) and content_block_stop, then message_delta (stop_reason, usage) and message_stop. The chat
 * stream's usage chunk (always asked for, see src/messages/request.ts) comes after its finish_reason, so
 * message_delta waits for `[DONE]`. An error event of the chat stream (a cut stream, a provider error mid-way, a
 * blocked answer) becomes an Anthropic `error` event, never a clean message_stop.
 * Network chunks may split events anywhere; whole events are translated as they complete.
 */
export class ChatToMessagesStream {
  private readonly framer = new SseFramer();
  private readonly requestId: string;
  private readonly fallbackModel: string;
  private started = false;
  private finished = false;
  /** The content block being streamed: its index and kind; null between blocks. */
  private open: { index: number; kind: 'text' | 'tool_use' | 'thinking' | 'redacted_thinking'; toolIndex?: number; signed?: boolean } | null = null;
  private blocks = 0;
  private finishReason: unknown = null;
  private usage: unknown = null;
  /** Output tokens of the completed message, once message_delta is sent. */
  outputTokens: number | null = null;
  private readonly nativeStop: () => AnthropicStop | undefined;
  private readonly providerUsage: () => Usage | undefined;

  /**
   * `stop`: an Anthropic provider's own stop reason, read when the message ends (it wins over finish_reason).
   * `usage`: the provider's own usage, read then too (it wins over the chat usage chunk, which has no cache writes).
   */
  constructor(options: { requestId: string; model: string; stop?: () => AnthropicStop | undefined; usage?: () => Usage | undefined }) {
    this.requestId = options.requestId;
    this.fallbackModel = options.model;
    this.nativeStop = options.stop ?? (() => undefined);
    this.providerUsage = options.usage ?? (() => undefined);
  }

  push(chunk: Buffer, endOfStream: boolean): Buffer {
    const out: string[] = [];
    for (const event of this.framer.push(chunk)) this.onEvent(event, out);
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) this.onEvent(rest, out);
      // Each upstream stream ends with [DONE] or an error event; reaching the end without either is a cut.
      if (!this.finished) this.fail(out, { message: 'The provider ended the stream before it was complete.' }, 500);
    }
    return Buffer.from(out.join(''));
  }

  private emit(out: string[], type: string, fields: Json = {}): void {
    out.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`);
  }

  private onEvent(raw: string, out: string[]): void {
    if (this.finished) return;
    const chunk = chatStreamEvent(raw);
    if (chunk === null) return;
    if (chunk === 'done') return this.finish(out);
    if (isObj(chunk.error)) return this.fail(out, chunk.error, 500);
    this.start(out, chunk);
    if (chunk.usage) this.usage = chunk.usage;
    const choice = (Array.isArray(chunk.choices) ? chunk.choices[0] : undefined) as Json | undefined;
    if (!choice) return;
    const delta = (choice.delta ?? {}) as { content?: unknown; refusal?: unknown; tool_calls?: unknown; thinking_blocks?: unknown };
    if (Array.isArray(delta.thinking_blocks)) for (const piece of delta.thinking_blocks as Json[]) this.onThinking(out, piece);
    const text = typeof delta.content === 'string' ? delta.content : typeof delta.refusal === 'string' ? delta.refusal : '';
    if (text !== '') {
      if (this.open?.kind !== 'text') this.openBlock(out, { type: 'text', text: '' }, 'text');
      this.emit(out, 'content_block_delta', { index: this.open?.index, delta: { type: 'text_delta', text } });
    }
    for (const call of Array.isArray(delta.tool_calls) ? (delta.tool_calls as ToolCallDelta[]) : []) this.onToolCall(out, call);
    if (choice.finish_reason) {
      this.finishReason = choice.finish_reason;
      this.closeBlock(out);
    }
  }

  private start(out: string[], chunk: Json): void {
    if (this.started) return;
    this.started = true;
    const message = {
      id: messageIdFor(chunk.id, this.requestId),
      type: 'message',
      role: 'assistant',
      model: typeof chunk.model === 'string' && chunk.model ? chunk.model : this.fallbackModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Chat streams report input tokens at the end; message_delta carries them (as Anthropic's newer streams do).
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    this.emit(out, 'message_start', { message });
    this.emit(out, 'ping');
  }

  /** A tool call's first delta names it (id, name); later ones carry argument pieces for the same call index. */
  private onToolCall(out: string[], call: ToolCallDelta): void {
    const toolIndex = call.index ?? 0;
    if (this.open?.kind !== 'tool_use' || this.open.toolIndex !== toolIndex) {
      this.openBlock(out, { type: 'tool_use', id: call.id ?? '', name: call.function?.name ?? '', input: {} }, 'tool_use', toolIndex);
    }
    const piece = call.function?.arguments;
    if (piece) this.emit(out, 'content_block_delta', { index: this.open?.index, delta: { type: 'input_json_delta', partial_json: piece } });
  }

  /**
   * Extended thinking pieces (src/providers/anthropic/stream.ts): text and then the signature of a thinking block, or
   * a whole redacted block. A piece after the signature starts the next thinking block.
   */
  private onThinking(out: string[], piece: Json): void {
    if (piece.type === 'redacted_thinking') {
      this.openBlock(out, { type: 'redacted_thinking', data: String(piece.data ?? '') }, 'redacted_thinking');
      return;
    }
    if (piece.type !== 'thinking') return;
    if (this.open?.kind !== 'thinking' || this.open.signed) this.openBlock(out, { type: 'thinking', thinking: '', signature: '' }, 'thinking');
    const open = this.open as NonNullable<typeof this.open>;
    if (typeof piece.thinking === 'string' && piece.thinking !== '') {
      this.emit(out, 'content_block_delta', { index: open.index, delta: { type: 'thinking_delta', thinking: piece.thinking } });
    }
    if (typeof piece.signature === 'string' && piece.signature !== '') {
      this.emit(out, 'content_block_delta', { index: open.index, delta: { type: 'signature_delta', signature: piece.signature } });
      open.signed = true;
    }
  }

  private openBlock(out: string[], block: Json, kind: 'text' | 'tool_use' | 'thinking' | 'redacted_thinking', toolIndex?: number): void {
    this.closeBlock(out);
    this.open = { index: this.blocks++, kind, ...(toolIndex === undefined ? {} : { toolIndex }) };
    this.emit(out, 'content_block_start', { index: this.open.index, content_block: block });
  }

  private closeBlock(out: string[]): void {
    if (!this.open) return;
    this.emit(out, 'content_block_stop', { index: this.open.index });
    this.open = null;
  }

  private finish(out: string[]): void {
    this.start(out, {});
    this.closeBlock(out);
    const usage = anthropicUsage(this.providerUsage() ?? null, this.usage);
    this.outputTokens = usage.output_tokens as number;
    const stop = this.nativeStop();
    this.emit(out, 'message_delta', { delta: { stop_reason: stop?.reason ?? stopReasonFor(this.finishReason), stop_sequence: stop?.sequence ?? null }, usage });
    this.emit(out, 'message_stop');
    this.finished = true;
  }

  private fail(out: string[], error: unknown, status: number): void {
    this.finished = true;
    const code = (error as { code?: unknown }).code;
    // A cut stream is the provider's failure to finish: Anthropic says that with overloaded/api errors.
    const body = JSON.parse(openAIErrorAsAnthropic(code === 'stream_truncated' ? 500 : status, error)) as Json;
    this.emit(out, 'error', { error: body.error });
  }
}
