import { chatStreamEvent, SseFramer } from '../providers/shared/sse.ts';
import type { ResponsesEcho } from './request.ts';
import {
  functionCallItem, itemId, messageItem, responseId, responseObject, responseStatus, responsesUsage,
  type ResponseMeta, type ResponsesUsage,
} from './response.ts';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface OpenItem {
  outputIndex: number;
  id: string;
  kind: 'message' | 'function_call';
  /** A message's one content part: text, or a refusal (streamed with its own events). */
  part: 'output_text' | 'refusal';
  text: string;
  refusal: string;
  callId: string;
  name: string;
}

/**
 * Turns a chat.completion.chunk stream (what every stage after the route reads, whichever provider answered) into
 * the Responses API's typed events: response.created / in_progress, then per output item output_item.added,
 * content_part.added, output_text.delta … done (or function_call_arguments.delta … done), output_item.done, and
 * response.completed (or response.incomplete) with usage. An error event of the chat stream (a cut stream, a
 * blocked answer) becomes an `error` event followed by response.failed, never a clean completion.
 * Network chunks may split events anywhere; whole events are translated as they complete.
 */
export class ChatToResponsesStream {
  private readonly framer = new SseFramer();
  private readonly requestId: string;
  private readonly createdAt: number;
  private readonly echo: ResponsesEcho;
  private meta: ResponseMeta | null = null;
  private sequence = 0;
  private readonly output: Json[] = [];
  private readonly toolItems = new Map<number, OpenItem>();
  private current: OpenItem | null = null;
  private finish: unknown = null;
  private usage: ResponsesUsage | null = null;
  private finished = false;
  private readonly fallbackModel: string;
  /** The Response of response.completed / response.incomplete, once sent (what the response store keeps). */
  finalResponse: Json | null = null;

  constructor(options: { requestId: string; createdAt: number; echo: ResponsesEcho; model: string }) {
    this.requestId = options.requestId;
    this.createdAt = options.createdAt;
    this.echo = options.echo;
    this.fallbackModel = options.model;
  }

  push(chunk: Buffer, endOfStream: boolean): Buffer {
    const out: string[] = [];
    for (const event of this.framer.push(chunk)) this.onEvent(event, out);
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) this.onEvent(rest, out);
      // Each upstream stream ends with [DONE] or an error event; reaching the end without either is a cut.
      if (!this.finished) this.fail(out, { message: 'The provider ended the stream before it was complete.', code: 'stream_truncated', param: null });
    }
    return Buffer.from(out.join(''));
  }

  private emit(out: string[], type: string, fields: Json): void {
    out.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...fields })}\n\n`);
  }

  private start(out: string[], chunk: Json | null): ResponseMeta {
    if (this.meta) return this.meta;
    const model = chunk && typeof chunk.model === 'string' ? chunk.model : this.fallbackModel;
    this.meta = { id: responseId(this.requestId), createdAt: this.createdAt, model, echo: this.echo };
    const response = responseObject(this.meta, { status: 'in_progress', output: [], usage: null });
    this.emit(out, 'response.created', { response });
    this.emit(out, 'response.in_progress', { response });
    return this.meta;
  }

  private onEvent(event: string, out: string[]): void {
    if (this.finished) return;
    const chunk = chatStreamEvent(event);
    if (chunk === null) return;
    if (chunk === 'done') {
      this.complete(out);
      return;
    }
    if (isObj(chunk.error)) {
      const error = chunk.error;
      this.fail(out, { message: String(error.message ?? 'The provider failed.'), code: error.code != null ? String(error.code) : null, param: error.param != null ? String(error.param) : null });
      return;
    }
    this.start(out, chunk);
    const usage = responsesUsage(chunk.usage);
    if (usage) this.usage = usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c) => isObj(c) && (c.index ?? 0) === 0) : undefined;
    if (!isObj(choice)) return;
    const delta = isObj(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content) this.text(out, delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal) this.refusal(out, delta.refusal);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) if (isObj(call)) this.toolCall(out, call);
    if (choice.finish_reason != null) this.finish = choice.finish_reason;
  }

  private openMessage(out: string[], part: OpenItem['part']): OpenItem {
    if (this.current?.kind === 'message' && this.current.part === part) return this.current;
    this.closeCurrent(out);
    const meta = this.start(out, null);
    const item: OpenItem = {
      outputIndex: this.output.length, id: itemId('msg', meta.id, this.output.length), kind: 'message', part, text: '', refusal: '', callId: '', name: '',
    };
    this.output.push({});
    this.current = item;
    this.emit(out, 'response.output_item.added', { output_index: item.outputIndex, item: messageItem(item.id, '', 'in_progress') });
    this.emit(out, 'response.content_part.added', {
      item_id: item.id, output_index: item.outputIndex, content_index: 0,
      part: part === 'refusal' ? { type: 'refusal', refusal: '' } : { type: 'output_text', text: '', annotations: [], logprobs: [] },
    });
    return item;
  }

  private text(out: string[], delta: string): void {
    const item = this.openMessage(out, 'output_text');
    item.text += delta;
    this.emit(out, 'response.output_text.delta', { item_id: item.id, output_index: item.outputIndex, content_index: 0, delta, logprobs: [] });
  }

  private refusal(out: string[], delta: string): void {
    const item = this.openMessage(out, 'refusal');
    item.refusal += delta;
    this.emit(out, 'response.refusal.delta', { item_id: item.id, output_index: item.outputIndex, content_index: 0, delta });
  }

  private toolCall(out: string[], call: Json): void {
    const index = typeof call.index === 'number' ? call.index : 0;
    const fn = isObj(call.function) ? call.function : {};
    let item = this.toolItems.get(index);
    if (!item) {
      this.closeCurrent(out);
      const meta = this.start(out, null);
      item = {
        outputIndex: this.output.length, id: itemId('fc', meta.id, this.output.length), kind: 'function_call',
        part: 'output_text', text: '', refusal: '', callId: String(call.id ?? `call_${index}`), name: String(fn.name ?? ''),
      };
      this.output.push({});
      this.toolItems.set(index, item);
      this.current = item;
      this.emit(out, 'response.output_item.added', { output_index: item.outputIndex, item: functionCallItem(item.id, item.callId, item.name, '', 'in_progress') });
    } else if (this.current !== item) {
      // Chat streams may interleave deltas of parallel calls; Responses items are sequential, so a late delta
      // joins its item's arguments and is reported at its close.
      item.text += typeof fn.arguments === 'string' ? fn.arguments : '';
      return;
    }
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    if (args) {
      item.text += args;
      this.emit(out, 'response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta: args });
    }
  }

  private closeCurrent(out: string[]): void {
    const item = this.current;
    if (!item) return;
    this.current = null;
    if (item.kind === 'message') {
      if (item.part === 'refusal') {
        this.emit(out, 'response.refusal.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, refusal: item.refusal });
        const part = { type: 'refusal', refusal: item.refusal };
        this.emit(out, 'response.content_part.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part });
      } else {
        this.emit(out, 'response.output_text.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, text: item.text, logprobs: [] });
        this.emit(out, 'response.content_part.done', {
          item_id: item.id, output_index: item.outputIndex, content_index: 0, part: { type: 'output_text', text: item.text, annotations: [], logprobs: [] },
        });
      }
      const done = messageItem(item.id, item.text, 'completed', item.part === 'refusal' ? item.refusal : undefined);
      this.output[item.outputIndex] = done;
      this.emit(out, 'response.output_item.done', { output_index: item.outputIndex, item: done });
      return;
    }
    this.emit(out, 'response.function_call_arguments.done', { item_id: item.id, output_index: item.outputIndex, name: item.name, arguments: item.text });
    const done = functionCallItem(item.id, item.callId, item.name, item.text, 'completed');
    this.output[item.outputIndex] = done;
    this.emit(out, 'response.output_item.done', { output_index: item.outputIndex, item: done });
  }

  private complete(out: string[]): void {
    const meta = this.start(out, null);
    this.closeCurrent(out);
    this.finished = true;
    const { status, incomplete_details } = responseStatus(this.finish);
    const response = responseObject(meta, { status, incomplete_details, output: this.output, usage: this.usage });
    this.finalResponse = response;
    this.emit(out, status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }

  private fail(out: string[], error: { message: string; code: string | null; param: string | null }): void {
    const meta = this.start(out, null);
    this.finished = true;
    this.emit(out, 'error', { code: error.code, message: error.message, param: error.param });
    const response = responseObject(meta, {
      status: 'failed', output: this.output.filter((item) => Object.keys(item).length > 0), usage: this.usage,
      error: { code: error.code ?? 'server_error', message: error.message },
    });
    this.emit(out, 'response.failed', { response });
  }
}
