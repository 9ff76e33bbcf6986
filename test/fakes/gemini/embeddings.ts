/** `:batchEmbedContents` and `:embedContent`: validation like Google's and deterministic vectors (shared/embed-vector.ts). */
import { embedVector } from '../shared/embed-vector.ts';
import { GoogleError, requestError } from './errors.ts';
import { at, message, optEnum, optNumber, optString, repeated } from './proto-json.ts';
import { validateContent } from './validate-generate.ts';

const V1BETA = 'type.googleapis.com/google.ai.generativelanguage.v1beta';
const BATCH_FIELDS: ReadonlySet<string> = new Set(['requests']);
const EMBED_FIELDS: ReadonlySet<string> = new Set(['model', 'content', 'taskType', 'title', 'outputDimensionality']);
const TASK_TYPES = [
  'TASK_TYPE_UNSPECIFIED', 'RETRIEVAL_QUERY', 'RETRIEVAL_DOCUMENT', 'SEMANTIC_SIMILARITY', 'CLASSIFICATION',
  'CLUSTERING', 'QUESTION_ANSWERING', 'FACT_VERIFICATION', 'CODE_RETRIEVAL_QUERY',
];
export const MAX_BATCH = 100;

interface EmbedRequest {
  text: string;
  dimensions: number;
}

function validateEmbed(raw: unknown, path: string, urlModel: string, needModel: boolean, defaultDims: number, kind: string): EmbedRequest {
  const r = message(raw, path, EMBED_FIELDS, `${V1BETA}.EmbedContentRequest`);
  const model = optString(r.model, at(path, 'model'));
  if (needModel && model === undefined) throw requestError(kind, at(path, 'model'), 'model is required');
  if (model !== undefined && model !== `models/${urlModel}`) {
    throw new GoogleError(400, `Model name in the request (${model}) does not match the model in the URL (models/${urlModel}).`);
  }
  if (r.content === undefined) throw requestError(kind, at(path, 'content'), 'content is required');
  const content = validateContent(r.content, at(path, 'content'), false);
  optEnum(r.taskType, at(path, 'taskType'), TASK_TYPES, `${V1BETA}.TaskType`);
  optString(r.title, at(path, 'title'));
  const dims = optNumber(r.outputDimensionality, at(path, 'outputDimensionality'), 'TYPE_INT32');
  if (dims !== undefined && dims < 1) throw requestError(kind, at(path, 'outputDimensionality'), 'output_dimensionality must be positive.');
  return { text: content.parts.map((p) => p.text ?? '').join(' '), dimensions: dims ?? defaultDims };
}

const values = (e: EmbedRequest): number[] => Array.from(embedVector(e.text, e.dimensions));

export function batchEmbedBody(body: unknown, urlModel: string, defaultDims: number): string {
  const b = message(body, '', BATCH_FIELDS, `${V1BETA}.BatchEmbedContentsRequest`);
  const requests = repeated(b.requests, 'requests', `${V1BETA}.EmbedContentRequest`);
  if (requests.length === 0) throw requestError('BatchEmbedContentsRequest', 'requests', 'requests must not be empty');
  if (requests.length > MAX_BATCH) throw requestError('BatchEmbedContentsRequest', 'requests', `at most ${MAX_BATCH} requests can be in one batch`);
  const embeddings = requests.map((r, i) => ({ values: values(validateEmbed(r, `requests[${i}]`, urlModel, true, defaultDims, 'BatchEmbedContentsRequest')) }));
  return JSON.stringify({ embeddings });
}

export function embedBody(body: unknown, urlModel: string, defaultDims: number): string {
  return JSON.stringify({ embedding: { values: values(validateEmbed(body, '', urlModel, false, defaultDims, 'EmbedContentRequest')) } });
}
