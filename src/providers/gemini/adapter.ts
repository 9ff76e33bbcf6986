import type { ProviderAdapter, ResponseInfo, TranslateRequestInput } from '../provider-adapter.ts';
import { translateEmbeddingsRequest, translateEmbeddingsResponse } from './embeddings.ts';
import { translateChatRequest } from './request.ts';
import { GeminiJsonTranslator, translateGenerateResponse } from './response.ts';
import { GeminiStreamTranslator } from './stream.ts';
import { googleRetryDelaySeconds } from './errors.ts';
import { geminiCountRequest, geminiCountResponse } from './count-tokens.ts';

/**
 * Google's Generative Language API (Gemini), e.g. base URL `https://generativelanguage.googleapis.com/v1beta`.
 * The model and the method are in the path; the key travels in the `x-goog-api-key` header, never in the URL
 * (a `?key=` would end up in access logs and traces along the way).
 */
const METHODS = {
  chat: ':generateContent',
  stream: ':streamGenerateContent?alt=sse',
  embeddings: ':batchEmbedContents',
} as const;

/** Gemini model names may be given with their resource prefix (`models/gemini-2.0-flash`); the path adds it once. */
function bareModel(upstreamModel: string): string {
  return upstreamModel.replace(/^models\//, '');
}

function methodFor(input: TranslateRequestInput): string {
  if (input.endpoint === 'embeddings') return METHODS.embeddings;
  return input.stream ? METHODS.stream : METHODS.chat;
}

/** A /v1/messages client's `top_k` (no chat form) is Gemini's own `topK`. */
function withTopK(body: Record<string, unknown>, topK: unknown): Record<string, unknown> {
  if (typeof topK !== 'number') return body;
  return { ...body, generationConfig: { ...(body.generationConfig as object | undefined), topK } };
}

export const geminiAdapter: ProviderAdapter = {
  translateRequest(input) {
    const { target } = input;
    const model = bareModel(target.upstreamModel);
    const headers: Record<string, string> = {};
    if (target.credential) headers['x-goog-api-key'] = target.credential;
    return {
      path: `${target.basePath}/models/${encodeURIComponent(model)}${methodFor(input)}`,
      headers,
      // A key the client sent for Google itself never passes: the provider credential is the only one.
      removeHeaders: target.credential ? ['authorization'] : ['authorization', 'x-goog-api-key'],
      body: input.endpoint === 'embeddings' ? translateEmbeddingsRequest(input.body, model) : withTopK(translateChatRequest(input.body, model), input.messagesFields?.top_k),
    };
  },

  retryAfterFromBody: googleRetryDelaySeconds,

  // Gemini counts a prompt with its own tokenizer, free: its count rather than the gateway's estimate.
  countTokens(input) {
    return geminiCountRequest(input.body, input.target, bareModel(input.target.upstreamModel));
  },
  countTokensResponse: geminiCountResponse,

  translateResponse(info: ResponseInfo) {
    if (info.endpoint === 'embeddings') return new GeminiJsonTranslator(info, translateEmbeddingsResponse);
    if (info.stream && info.status === 200) return new GeminiStreamTranslator(info);
    return new GeminiJsonTranslator(info, translateGenerateResponse);
  },
};
