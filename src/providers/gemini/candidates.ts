import type { GeminiCandidate, GeminiFunctionCall } from './wire-types.ts';

/**
 * What the JSON and the stream translators share about Gemini candidates: finish reasons, the visible text and
 * function calls of a candidate, and OpenAI tool call ids.
 */

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * Gemini `finishReason` → OpenAI `finish_reason`. The reasons for blocked or filtered output are content_filter;
 * the rest (LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, new ones) end the answer without a better name: stop.
 * A candidate that called functions finishes with tool_calls, as OpenAI's does (Gemini says STOP).
 */
const FINISH_REASONS: Readonly<Record<string, OpenAIFinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
};

export function openAIFinishReason(geminiReason: string, calledFunctions: boolean): OpenAIFinishReason {
  const reason = FINISH_REASONS[geminiReason] ?? 'stop';
  return reason === 'stop' && calledFunctions ? 'tool_calls' : reason;
}

/** A prompt Gemini refused to answer (`promptFeedback.blockReason`, no candidates) ends as content_filter. */
export const BLOCKED_PROMPT_FINISH: OpenAIFinishReason = 'content_filter';

/** A function call of the model with the thought signature of its part, if any. */
export interface SignedCall {
  call: GeminiFunctionCall;
  signature: string | null;
}

/** The client-visible content of a candidate: its text (reasoning parts left out) and its function calls. */
export function candidateOutput(candidate: GeminiCandidate): { text: string; calls: SignedCall[] } {
  let text = '';
  const calls: SignedCall[] = [];
  for (const part of candidate.content?.parts ?? []) {
    if (part.thought === true) continue;
    if (typeof part.text === 'string') text += part.text;
    if (part.functionCall && typeof part.functionCall.name === 'string') {
      calls.push({ call: part.functionCall, signature: typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '' ? part.thoughtSignature : null });
    }
  }
  return { text, calls };
}

/**
 * Thinking models (Gemini 2.5, 3) sign their function calls, and Gemini 3 refuses a conversation whose function
 * call parts come back without their signature. OpenAI's format has no place for it except the tool call id, which
 * every client sends back verbatim (in the assistant message and in the tool result): the signature rides there,
 * after this separator, and the request translator puts it back on the functionCall part.
 */
export const SIGNATURE_SEPARATOR = '__thought__';

/** A tool call id → the id proper and the thought signature it carries, if any. */
export function splitToolCallId(id: string): { id: string; signature: string | null } {
  const at = id.indexOf(SIGNATURE_SEPARATOR);
  if (at < 0) return { id, signature: null };
  return { id: id.slice(0, at), signature: id.slice(at + SIGNATURE_SEPARATOR.length) || null };
}

/**
 * OpenAI tool call ids for one response. Gemini names calls but rarely gives ids; the client must send each id back
 * with its result, and the request translator then finds the function name by id in the assistant message.
 */
export class ToolCallIds {
  private readonly prefix: string;
  private count = 0;

  constructor(requestId: string) {
    this.prefix = `call_${requestId.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}_`;
  }

  next({ call, signature }: SignedCall): string {
    this.count++;
    const id = typeof call.id === 'string' && call.id !== '' ? call.id : `${this.prefix}${this.count}`;
    return signature ? `${id}${SIGNATURE_SEPARATOR}${signature}` : id;
  }
}

/** An OpenAI tool call (without the stream's `index`) for a Gemini function call. */
export function openAIToolCall(signed: SignedCall, id: string) {
  return { id, type: 'function' as const, function: { name: signed.call.name, arguments: JSON.stringify(signed.call.args ?? {}) } };
}

/** `chat.completion` ids: Gemini's responseId when it sent one, else the gateway request id. */
export function completionId(responseId: unknown, requestId: string): string {
  return `chatcmpl-${typeof responseId === 'string' && responseId !== '' ? responseId : requestId}`;
}
