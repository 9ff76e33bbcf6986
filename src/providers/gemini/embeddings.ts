import { errors } from '../../errors/errors.ts';
import type { Usage } from '../../pipeline/context.ts';
import type { ResponseInfo } from '../provider-adapter.ts';
import type { GeminiBatchEmbedResponse } from './wire-types.ts';

/**
 * OpenAI embeddings ↔ Gemini `batchEmbedContents`: every input is one request of the batch (one call serves a string
 * and a list alike), and the answers come back in the same order.
 */
type Json = Record<string, unknown>;

/** Gemini embeds at most this many texts per batch call. */
export const MAX_BATCH = 100;

/** OpenAI's token-count estimate for text it has not tokenised: about four characters per token. */
const CHARS_PER_TOKEN = 4;

function inputTexts(input: unknown): string[] {
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : [];
  if (texts.length === 0 || !texts.every((t): t is string => typeof t === 'string')) {
    throw errors.badRequest('Gemini embeds text only: input must be a string or an array of strings (token arrays are not supported).', 'input');
  }
  if (texts.length > MAX_BATCH) throw errors.badRequest(`Gemini embeds at most ${MAX_BATCH} inputs per request; got ${texts.length}.`, 'input');
  return texts;
}

export function translateEmbeddingsRequest(body: Readonly<Json>, upstreamModel: string): Json {
  const model = `models/${upstreamModel}`;
  const dimensions = typeof body.dimensions === 'number' ? { outputDimensionality: body.dimensions } : {};
  return { requests: inputTexts(body.input).map((text) => ({ model, content: { parts: [{ text }] }, ...dimensions })) };
}

/**
 * Gemini reports no token counts for embeddings, so usage is an estimate: the input's characters divided by four
 * (rounded up per input), the rule of thumb OpenAI documents for English text, marked `estimated`. It needs the
 * client's request (`info.request`); without it the prompt is counted as zero tokens.
 */
export function estimateEmbeddingTokens(request: Readonly<Json> | undefined): number {
  const input = request?.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : [];
  return texts.reduce<number>((sum, t) => sum + (typeof t === 'string' ? Math.ceil(t.length / CHARS_PER_TOKEN) : 0), 0);
}

/** A vector as OpenAI's `encoding_format: "base64"` sends it: little-endian float32 bytes. */
function toBase64(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}

export function translateEmbeddingsResponse(parsed: unknown, info: ResponseInfo): { body: Json; usage: Usage } {
  const response = (parsed ?? {}) as GeminiBatchEmbedResponse;
  const base64 = info.request?.encoding_format === 'base64';
  const data = (response.embeddings ?? []).map((e, index) => {
    const values = Array.isArray(e.values) ? e.values : [];
    return { object: 'embedding', index, embedding: base64 ? toBase64(values) : values };
  });
  const promptTokens = estimateEmbeddingTokens(info.request);
  return {
    body: { object: 'list', data, model: info.upstreamModel, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } },
    usage: { promptTokens, completionTokens: 0, totalTokens: promptTokens, estimated: true },
  };
}
