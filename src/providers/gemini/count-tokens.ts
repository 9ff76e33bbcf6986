import type { OutgoingRequest, ResponseInfo, ResponseTranslator, TranslationTarget } from '../provider-adapter.ts';
import { translateChatRequest } from './request.ts';
import { GeminiJsonTranslator } from './response.ts';

/**
 * Anthropic's count_tokens answered by Gemini's own tokenizer: `POST models/{model}:countTokens` with the whole
 * generation request (system instruction and tools count too, which `contents` alone would leave out), and its
 * `{"totalTokens": N}` read back as `{"input_tokens": N}`.
 */
export function geminiCountRequest(chat: Readonly<Record<string, unknown>>, target: TranslationTarget, model: string): OutgoingRequest {
  const headers: Record<string, string> = {};
  if (target.credential) headers['x-goog-api-key'] = target.credential;
  return {
    path: `${target.basePath}/models/${encodeURIComponent(model)}:countTokens`,
    headers,
    removeHeaders: target.credential ? ['authorization'] : ['authorization', 'x-goog-api-key'],
    body: { generateContentRequest: { model: `models/${model}`, ...translateChatRequest(chat, model) } },
  };
}

/** Gemini's count (or its error, made OpenAI-shaped like every Gemini error; the Messages dialect then renders it). */
export function geminiCountResponse(info: ResponseInfo): ResponseTranslator {
  return new GeminiJsonTranslator(info, (parsed) => {
    const total = (parsed as { totalTokens?: unknown } | null)?.totalTokens;
    return { body: { input_tokens: typeof total === 'number' ? total : 0 }, usage: null };
  });
}
