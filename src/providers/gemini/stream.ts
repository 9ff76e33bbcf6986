import type { Usage } from '../../pipeline/context.ts';
import type { ResponseInfo, ResponseTranslator } from '../provider-adapter.ts';
import { openAIErrorTypeFor, streamTruncatedEvent } from '../shared/errors.ts';
import { eventData, SseFramer } from '../shared/sse.ts';
import { FinishReasons } from '../shared/finish-reasons.ts';
import { BLOCKED_PROMPT_FINISH, candidateOutput, completionId, openAIFinishReason, openAIToolCall, ToolCallIds } from './candidates.ts';
import { readGoogleError } from './errors.ts';
import { fromGeminiUsage, toOpenAIUsage } from './usage.ts';
import type { GeminiGenerateResponse, GeminiUsageMetadata } from './wire-types.ts';

/** Where one candidate (one OpenAI choice) of the stream stands. */
interface ChoiceState {
  roleSent: boolean;
  finished: boolean;
  calledFunctions: boolean;
  /** Index of the next tool call within this choice, as OpenAI numbers them in deltas. */
  nextToolIndex: number;
}

/**
 * A `streamGenerateContent?alt=sse` stream → OpenAI `chat.completion.chunk` events, event by event as they arrive.
 * Each Gemini event is a whole GenerateContentResponse with new text (and complete function calls); it becomes a
 * content delta (the first of a choice carrying role assistant), a tool_calls delta, and a finish chunk when the
 * candidate carries a finishReason. Gemini has no end marker: the stream is complete once every candidate finished
 * (or the prompt was blocked). Then, at the end of the body, come the usage chunk (from the last usageMetadata, only
 * if the client asked for usage) and `[DONE]`; an end before that gets an error event instead, never a clean end.
 */
export class GeminiStreamTranslator implements ResponseTranslator {
  usage: Usage | null = null;
  truncated = false;
  private readonly framer = new SseFramer();
  private readonly info: ResponseInfo;
  private readonly ids: ToolCallIds;
  private readonly choices = new Map<number, ChoiceState>();
  private usageMetadata: GeminiUsageMetadata | null = null;
  private id: string | null = null;
  private model: string | null = null;
  private blocked = false;
  /** Gemini reported an error inside the stream; the client already has it as an error event. */
  private failed = false;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

  constructor(info: ResponseInfo) {
    this.info = info;
    this.ids = new ToolCallIds(info.requestId);
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer {
    const out: string[] = [];
    for (const event of this.framer.push(chunk)) this.translate(event, out);
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) this.translate(rest, out);
      this.finish(out);
    }
    return Buffer.from(out.join(''));
  }

  private get complete(): boolean {
    if (this.blocked) return true;
    if (this.choices.size === 0) return false;
    for (const choice of this.choices.values()) if (!choice.finished) return false;
    return true;
  }

  private finish(out: string[]): void {
    if (this.failed || !this.complete) {
      this.truncated = true;
      if (!this.failed) out.push(streamTruncatedEvent());
      return;
    }
    if (this.info.clientWantsUsage) {
      const usage = toOpenAIUsage(this.usageMetadata);
      if (usage) out.push(this.frame({ choices: [], usage }));
    }
    out.push('data: [DONE]\n\n');
  }

  private translate(event: string, out: string[]): void {
    const data = eventData(event);
    if (data === null || data.trim() === '') return;
    let response: GeminiGenerateResponse;
    try {
      response = JSON.parse(data) as GeminiGenerateResponse;
    } catch {
      return; // not an event Gemini sends; completeness is judged on the real ones
    }
    if (response.error !== undefined) return this.reportError(response, out);
    this.id ??= completionId(response.responseId, this.info.requestId);
    this.model ??= response.modelVersion ?? this.info.upstreamModel;
    if (response.usageMetadata) {
      this.usageMetadata = response.usageMetadata;
      this.usage = fromGeminiUsage(response.usageMetadata);
    }
    const candidates = response.candidates ?? [];
    if (candidates.length === 0 && response.promptFeedback?.blockReason) {
      this.blocked = true;
      out.push(this.choiceFrame(0, { role: 'assistant', content: null }, null));
      out.push(this.choiceFrame(0, {}, BLOCKED_PROMPT_FINISH));
      return;
    }
    candidates.forEach((candidate, position) => {
      const index = candidate.index ?? position;
      let state = this.choices.get(index);
      if (!state) {
        state = { roleSent: false, finished: false, calledFunctions: false, nextToolIndex: 0 };
        this.choices.set(index, state);
      }
      const { text, calls } = candidateOutput(candidate);
      if (text !== '') out.push(this.choiceFrame(index, this.withRole(state, { content: text }), null));
      if (calls.length > 0) {
        state.calledFunctions = true;
        const toolCalls = calls.map((signed) => ({ index: state.nextToolIndex++, ...openAIToolCall(signed, this.ids.next(signed)) }));
        out.push(this.choiceFrame(index, this.withRole(state, { content: null, tool_calls: toolCalls }), null));
      }
      if (candidate.finishReason && !state.finished) {
        if (!state.roleSent) out.push(this.choiceFrame(index, this.withRole(state, { content: '' }), null));
        state.finished = true;
        out.push(this.choiceFrame(index, {}, openAIFinishReason(candidate.finishReason, state.calledFunctions)));
      }
    });
  }

  /** The first delta of a choice says who speaks, as OpenAI's does; later ones carry only what is new. */
  private withRole(state: ChoiceState, delta: Record<string, unknown>): Record<string, unknown> {
    if (state.roleSent) {
      const { content, ...rest } = delta;
      return content === null ? rest : delta;
    }
    state.roleSent = true;
    return { role: 'assistant', ...delta };
  }

  private reportError(response: GeminiGenerateResponse, out: string[]): void {
    const info = readGoogleError(response);
    const code = (response.error as { code?: unknown } | null)?.code;
    const status = typeof code === 'number' ? code : 500;
    this.failed = true;
    out.push(`data: ${JSON.stringify({
      error: { message: info?.message || 'Gemini failed while streaming.', type: openAIErrorTypeFor(status), code: info?.code ?? null, param: null },
    })}\n\n`);
  }

  private choiceFrame(index: number, delta: Record<string, unknown>, finishReason: string | null): string {
    this.finished.note(index, finishReason);
    return this.frame({ choices: [{ index, delta, logprobs: null, finish_reason: finishReason }] });
  }

  private frame(fields: Record<string, unknown>): string {
    const chunk = { id: this.id ?? completionId(null, this.info.requestId), object: 'chat.completion.chunk', created: this.info.createdAt, model: this.model ?? this.info.upstreamModel, ...fields };
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }
}
