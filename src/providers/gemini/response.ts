import type { Usage } from '../../pipeline/context.ts';
import type { ResponseInfo, ResponseTranslator } from '../provider-adapter.ts';
import { BufferedBody } from '../shared/buffered-body.ts';
import { toOpenAIErrorBody } from '../shared/errors.ts';
import { FinishReasons } from '../shared/finish-reasons.ts';
import { BLOCKED_PROMPT_FINISH, candidateOutput, completionId, openAIFinishReason, openAIToolCall, ToolCallIds } from './candidates.ts';
import { readGoogleError } from './errors.ts';
import { fromGeminiUsage, toOpenAIUsage } from './usage.ts';
import type { GeminiGenerateResponse } from './wire-types.ts';

/**
 * A `generateContent` answer → `chat.completion`, one choice per candidate. The body arrives in pieces; they are
 * held back until the last one. A blocked prompt (no candidates, `promptFeedback.blockReason`) stays a 200 (a
 * response translator cannot change the status Envoy already sent) with one choice whose content is null and whose
 * finish_reason is content_filter, which is what OpenAI clients already handle for filtered output.
 */
export function toChatCompletion(response: GeminiGenerateResponse, info: ResponseInfo): Record<string, unknown> {
  const ids = new ToolCallIds(info.requestId);
  const candidates = response.candidates ?? [];
  const choices = candidates.map((candidate, position) => {
    const { text, calls } = candidateOutput(candidate);
    const message: Record<string, unknown> = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text, refusal: null };
    if (calls.length > 0) message.tool_calls = calls.map((signed) => openAIToolCall(signed, ids.next(signed)));
    return {
      index: candidate.index ?? position,
      message,
      logprobs: null,
      finish_reason: openAIFinishReason(candidate.finishReason ?? 'STOP', calls.length > 0),
    };
  });
  if (choices.length === 0) {
    choices.push({ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: BLOCKED_PROMPT_FINISH });
  }
  const completion: Record<string, unknown> = {
    id: completionId(response.responseId, info.requestId),
    object: 'chat.completion',
    created: info.createdAt,
    model: response.modelVersion ?? info.upstreamModel,
    choices,
  };
  const usage = toOpenAIUsage(response.usageMetadata);
  if (usage) completion.usage = usage;
  return completion;
}

/** How a successful JSON answer of one endpoint becomes the OpenAI body, with the usage it reports. */
export type SuccessTranslation = (parsed: unknown, info: ResponseInfo) => { body: unknown; usage: Usage | null };

/** Collects a JSON answer (chat or embeddings, success or error) and translates it whole at the end. */
export class GeminiJsonTranslator implements ResponseTranslator {
  usage: Usage | null = null;
  truncated = false;
  private readonly body = new BufferedBody();
  private readonly info: ResponseInfo;
  private readonly translateSuccess: SuccessTranslation;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

  constructor(info: ResponseInfo, translateSuccess: SuccessTranslation) {
    this.info = info;
    this.translateSuccess = translateSuccess;
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer {
    const whole = this.body.push(chunk, endOfStream);
    if (!whole) return Buffer.alloc(0);
    if (this.info.status !== 200) return toOpenAIErrorBody(this.info.status, whole, 'Gemini', readGoogleError);
    let parsed: unknown;
    try {
      parsed = JSON.parse(whole.toString('utf8'));
    } catch {
      // A 200 whose body is not JSON was cut short: an error for the client, never a made-up answer.
      this.truncated = true;
      return Buffer.from(JSON.stringify({
        error: { message: 'Gemini sent an incomplete response.', type: 'api_error', code: 'invalid_provider_response', param: null },
      }));
    }
    const translated = this.translateSuccess(parsed, this.info);
    this.usage = translated.usage;
    this.finished.noteCompletion(translated.body);
    return Buffer.from(JSON.stringify(translated.body));
  }
}

export const translateGenerateResponse: SuccessTranslation = (parsed, info) => {
  const response = (parsed ?? {}) as GeminiGenerateResponse;
  return { body: toChatCompletion(response, info), usage: fromGeminiUsage(response.usageMetadata) };
};
