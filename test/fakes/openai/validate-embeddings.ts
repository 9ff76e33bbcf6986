/** Validation of a `POST /v1/embeddings` body into the texts to embed, their token counts, the format and the size. */
import type { Json } from '../shared/json.ts';
import { countWords } from '../shared/text.ts';
import { ApiError, invalidValue, missing, typeError, unrecognized } from './errors.ts';
import { optInt, optString, requireModel } from './fields.ts';

export const EMBEDDING_FIELDS: ReadonlySet<string> = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user']);
/** OpenAI embeds at most 300,000 tokens (all inputs together) per request. */
const MAX_TOKENS_PER_REQUEST = 300_000;
const INPUT_INVALID = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";
const EMBEDDING_MAX_DIMS: Record<string, number> = { 'text-embedding-3-small': 1536, 'text-embedding-3-large': 3072 };

export interface EmbeddingsRequest {
  model: string;
  /** each item: [seed text, token count] */
  items: Array<[string, number]>;
  base64: boolean;
  dims: number;
}

const isTokenArray = (a: unknown[]): boolean => a.length > 0 && a.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);

function inputItems(input: unknown): Array<[string, number]> {
  if (input === undefined || input === null) throw missing('input');
  const items: Array<[string, number]> = [];
  if (typeof input === 'string') {
    if (input.length === 0) throw new ApiError(400, INPUT_INVALID);
    items.push([input, Math.max(1, countWords(input))]);
  } else if (Array.isArray(input)) {
    if (input.length === 0 || input.length > 2048) throw new ApiError(400, INPUT_INVALID);
    if (typeof input[0] === 'number') {
      if (!isTokenArray(input)) throw new ApiError(400, INPUT_INVALID);
      items.push(['\u0000tokens:' + input.join(','), input.length]);
    } else {
      for (const el of input) {
        if (typeof el === 'string') {
          if (el.length === 0) throw new ApiError(400, INPUT_INVALID);
          items.push([el, Math.max(1, countWords(el))]);
        } else if (Array.isArray(el) && isTokenArray(el)) {
          items.push(['\u0000tokens:' + el.join(','), el.length]);
        } else {
          throw new ApiError(400, INPUT_INVALID);
        }
      }
    }
  } else {
    throw typeError('input', 'one of a string or array', input);
  }
  return items;
}

export function validateEmbeddings(b: Json, models: ReadonlySet<string>, defaultDims: number): EmbeddingsRequest {
  for (const k in b) if (!EMBEDDING_FIELDS.has(k)) throw unrecognized(k);
  const model = requireModel(b, models);
  const items = inputItems(b.input);
  const tokens = items.reduce((n, [, count]) => n + count, 0);
  if (tokens > MAX_TOKENS_PER_REQUEST) {
    throw new ApiError(400, `Requested ${tokens} tokens, max ${MAX_TOKENS_PER_REQUEST} tokens per request`, 'input', 'max_tokens_per_request');
  }

  const fmt = optString(b, 'encoding_format') ?? 'float';
  if (fmt !== 'float' && fmt !== 'base64') throw invalidValue('encoding_format', fmt, ['float', 'base64']);
  optString(b, 'user');
  const dimsReq = optInt(b, 'dimensions', 1, Number.MAX_SAFE_INTEGER);
  let dims = defaultDims;
  if (dimsReq !== undefined) {
    const max = EMBEDDING_MAX_DIMS[model];
    if (model === 'text-embedding-ada-002') throw new ApiError(400, 'This model does not support specifying dimensions.', 'dimensions');
    if (max !== undefined && dimsReq > max) throw new ApiError(400, `Invalid 'dimensions': integer above maximum value. Expected a value <= ${max}, but got ${dimsReq} instead.`, 'dimensions', 'integer_above_max_value');
    dims = dimsReq;
  }
  return { model, items, base64: fmt === 'base64', dims };
}
