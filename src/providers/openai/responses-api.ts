import type { Usage } from '../../pipeline/context.ts';
import { chatUsage, responseToChatCompletion } from '../../responses/response.ts';
import type { ResponseInfo, ResponseTranslator } from '../provider-adapter.ts';
import { BufferedBody } from '../shared/buffered-body.ts';
import { streamTruncatedEvent, toOpenAIErrorBody } from '../shared/errors.ts';
import { eventData, SseFramer } from '../shared/sse.ts';
import { FinishReasons } from '../shared/finish-reasons.ts';
import { readOpenAIStyleError } from './adapter.ts';
import { fromOpenAIUsage } from './usage.ts';

/**
 * Answers of a provider that speaks the Responses API natively (OpenAI's /v1/responses), read into the chat form
 * that every stage after the route works on; the client's Responses dialect is restored at the end of the pipeline
 * (src/stages/responses-dialect.ts), keeping the provider's response id.
 */
type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ResponsesJsonTranslator implements ResponseTranslator {
  usage: Usage | null = null;
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

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer | void {
    const whole = this.body.push(chunk, endOfStream);
    if (!whole) return Buffer.alloc(0);
    if (this.info.status !== 200) return toOpenAIErrorBody(this.info.status, whole, 'The provider', readOpenAIStyleError);
    let parsed: unknown;
    try {
      parsed = JSON.parse(whole.toString('utf8'));
    } catch {
      return toOpenAIErrorBody(502, whole, 'The provider', () => null);
    }
    if (!isObj(parsed)) return toOpenAIErrorBody(502, whole, 'The provider', () => null);
    const completion = responseToChatCompletion(parsed, this.info.upstreamModel);
    this.usage = fromOpenAIUsage(completion.usage);
    this.finished.noteCompletion(completion);
    return Buffer.from(JSON.stringify(completion));
  }
}

/**
 * A Responses event stream → chat.completion.chunk events: text deltas, function calls (one tool_calls index per
 * function_call item), the finish reason and usage from response.completed / response.incomplete, then [DONE].
 * response.failed and error events become an OpenAI error event; a stream without a terminal event gets the
 * truncation error event. Events are re-framed across network chunks.
 */
export class ResponsesToChatStream implements ResponseTranslator {
  usage: Usage | null = null;
  truncated = false;
  private readonly framer = new SseFramer();
  private readonly info: ResponseInfo;
  private id = '';
  private model: string;
  private created: number;
  private readonly callIndex = new Map<string, number>();
  private ended = false;
  private roleSent = false;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

  constructor(info: ResponseInfo) {
    this.info = info;
    this.model = info.upstreamModel;
    this.created = info.createdAt;
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer {
    const out: string[] = [];
    for (const event of this.framer.push(chunk)) this.onEvent(event, out);
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) this.onEvent(rest, out);
      if (!this.ended) {
        this.truncated = true;
        out.push(streamTruncatedEvent());
      }
    }
    return Buffer.from(out.join(''));
  }

  private chunk(out: string[], delta: Json, finish: string | null, usage?: Json | null): void {
    this.finished.note(0, finish);
    const body: Json = {
      id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model,
      choices: usage !== undefined ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (usage !== undefined) body.usage = usage;
    out.push(`data: ${JSON.stringify(body)}\n\n`);
  }

  private delta(out: string[], delta: Json): void {
    if (!this.roleSent) {
      this.roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    this.chunk(out, delta, null);
  }

  private onEvent(event: string, out: string[]): void {
    if (this.ended) return;
    const data = eventData(event);
    if (data === null) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObj(parsed)) return;
    const response = isObj(parsed.response) ? parsed.response : null;
    switch (parsed.type) {
      case 'response.created':
        if (response) {
          this.id = String(response.id ?? '');
          if (typeof response.model === 'string') this.model = response.model;
          if (typeof response.created_at === 'number') this.created = response.created_at;
        }
        return;
      case 'response.output_text.delta':
        if (typeof parsed.delta === 'string' && parsed.delta) this.delta(out, { content: parsed.delta });
        return;
      case 'response.refusal.delta':
        if (typeof parsed.delta === 'string' && parsed.delta) this.delta(out, { refusal: parsed.delta });
        return;
      case 'response.output_item.added': {
        const item = isObj(parsed.item) ? parsed.item : null;
        if (item?.type !== 'function_call') return;
        const index = this.callIndex.size;
        this.callIndex.set(String(item.id ?? ''), index);
        this.delta(out, { tool_calls: [{ index, id: item.call_id, type: 'function', function: { name: item.name, arguments: '' } }] });
        return;
      }
      case 'response.function_call_arguments.delta': {
        const index = this.callIndex.get(String(parsed.item_id ?? ''));
        if (index === undefined || typeof parsed.delta !== 'string') return;
        this.delta(out, { tool_calls: [{ index, function: { arguments: parsed.delta } }] });
        return;
      }
      case 'response.completed':
      case 'response.incomplete': {
        this.ended = true;
        const status = parsed.type === 'response.incomplete' ? 'incomplete' : 'completed';
        const reason = response && isObj(response.incomplete_details) ? response.incomplete_details.reason : null;
        const finish = status === 'incomplete' ? (reason === 'content_filter' ? 'content_filter' : 'length') : this.callIndex.size ? 'tool_calls' : 'stop';
        this.chunk(out, {}, finish);
        const usage = chatUsage(response?.usage);
        this.usage = fromOpenAIUsage(usage);
        this.chunk(out, {}, null, usage);
        out.push('data: [DONE]\n\n');
        return;
      }
      case 'response.failed':
      case 'error': {
        this.ended = true;
        this.truncated = true;
        const error = parsed.type === 'error' ? parsed : response && isObj(response.error) ? response.error : {};
        out.push(`data: ${JSON.stringify({
          error: { message: String(error.message ?? 'The provider failed.'), type: 'api_error', code: error.code ?? null, param: error.param ?? null },
        })}\n\n`);
        return;
      }
      default:
        return;
    }
  }
}
