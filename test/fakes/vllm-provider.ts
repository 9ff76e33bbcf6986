/**
 * Strict fake vLLM server (its OpenAI-compatible API) for end-to-end tests: what a self-hosted model behind
 * Tollgate looks like. Built on the OpenAI fake's validators and answers (`openai/`) and the shared plumbing
 * (`shared/`); what is vLLM's own lives in `vllm/`.
 *
 * - `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`, `GET /health`; other routes answer
 *   FastAPI's `{"detail":"Not Found"}`.
 * - No key by default; with `apiKey`, `/v1` needs `Authorization: Bearer <apiKey>` (401 `{"error":"Unauthorized"}`).
 * - OpenAI's fields are validated as the OpenAI fake does; vLLM's extra sampling parameters (`top_k`, `min_p`,
 *   `repetition_penalty`, …, see `vllm/params.ts`) are accepted and checked; any other field is refused. (Real vLLM
 *   only logs unknown fields; refusing them catches a gateway that forwards what it should not.)
 * - `model` may be omitted (the first served model answers, as in vLLM); an unknown one is a 404.
 * - Errors in vLLM's shape `{"object":"error","message","type":"BadRequestError","param":null,"code":400}`.
 * - Streams are OpenAI SSE; `stream_options.include_usage` adds the final usage chunk. Faults as the other fakes.
 *
 * CLI: `node test/fakes/vllm-provider.ts --port 0 [--host H] [--api-key K] [--tls-cert F --tls-key F]`
 * prints `FAKE_VLLM_URL=<url>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerChat, chatBody } from './openai/completions.ts';
import type { IdCounters } from './openai/completions.ts';
import { embeddingsBody } from './openai/embeddings.ts';
import { ApiError } from './openai/errors.ts';
import { SSE_HEADERS, chatStreamFrames } from './openai/stream.ts';
import { CHAT_FIELDS, validateChat } from './openai/validate-chat.ts';
import { EMBEDDING_FIELDS, validateEmbeddings } from './openai/validate-embeddings.ts';
import { runFakeCli } from './shared/cli.ts';
import { serveFake } from './shared/fake-handle.ts';
import type { FakeHandle, FakeServerOptions } from './shared/fake-handle.ts';
import { FaultQueue, runFaults } from './shared/faults.ts';
import type { FakeFault } from './shared/faults.ts';
import { BAD_JSON, cutBody, parseJsonBody, requestPath } from './shared/http.ts';
import type { RecordedRequest } from './shared/http.ts';
import { isObj } from './shared/json.ts';
import type { Json } from './shared/json.ts';
import { chunkDelay, writeSse } from './shared/sse.ts';
import { ServerTimers } from './shared/timers.ts';
import { JSON_INVALID, METHOD_NOT_ALLOWED_BODY, NOT_FOUND_BODY, UNAUTHORIZED_BODY, VllmError, extraForbidden, fromApiError, modelNotFound, pydanticError } from './vllm/errors.ts';
import { VLLM_CHAT_PARAMS, VLLM_EMBEDDING_PARAMS, takeVllmParams } from './vllm/params.ts';
import { vllmChatBody, vllmStreamFrames } from './vllm/shape.ts';

// ───────────────────────────────────────────────────────────────── public API

export type { FakeFault } from './shared/faults.ts';
export type { RecordedRequest } from './shared/http.ts';

export interface FakeVllmOptions extends FakeServerOptions {
  /** vLLM's `--api-key`: when set, `/v1` requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Served model names (default `DEFAULT_VLLM_MODELS`). */
  models?: { chat?: string[]; embeddings?: string[] };
  embeddingDimensions?: number;
}

export interface FakeVllm extends FakeHandle<RecordedRequest, FakeFault> {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
}

export const DEFAULT_VLLM_MODELS = {
  chat: ['meta-llama/Llama-3.1-8B-Instruct'],
  embeddings: ['BAAI/bge-small-en-v1.5'],
} as const;

// ───────────────────────────────────────────────────────────────── server

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const CREATED_AT = 1_700_000_000;
const MAX_MODEL_LEN = 8192;
const ROUTES: Record<string, string> = { '/v1/chat/completions': 'POST', '/v1/embeddings': 'POST', '/v1/models': 'GET', '/health': 'GET' };

/** OpenAI's fields (validated by the OpenAI fake's validators) and vLLM's own; anything else is refused. */
function refuseUnknownFields(body: Json, openAIFields: ReadonlySet<string>, vllmFields: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(body)) {
    if (!openAIFields.has(name) && !Object.hasOwn(vllmFields, name)) throw extraForbidden(name, value);
  }
}

/** vLLM serves the first model when the body names none, and checks the name before anything else about it. */
function resolveModel(body: Json, served: readonly string[]): string {
  const model = body.model ?? served[0];
  if (typeof model !== 'string') throw pydanticError('string_type', 'model', 'Input should be a valid string', model);
  if (!served.includes(model)) throw modelNotFound(model);
  return model;
}

export async function startFakeVllm(opts: FakeVllmOptions = {}): Promise<FakeVllm> {
  const chatModels: readonly string[] = opts.models?.chat ?? DEFAULT_VLLM_MODELS.chat;
  const embeddingModels: readonly string[] = opts.models?.embeddings ?? DEFAULT_VLLM_MODELS.embeddings;
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;
  const defaultDims = opts.embeddingDimensions ?? 8;
  const expectedAuth = opts.apiKey !== undefined ? `Bearer ${opts.apiKey}` : undefined;
  const modelList = JSON.stringify({
    object: 'list',
    data: [...chatModels, ...embeddingModels].map((id) => ({ id, object: 'model', created: CREATED_AT, owned_by: 'vllm', root: id, parent: null, max_model_len: MAX_MODEL_LEN })),
  });

  const requests: RecordedRequest[] = [];
  const ids: IdCounters = { id: 0, call: 0 };
  const faultQueue = new FaultQueue();
  const timers = new ServerTimers();

  function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }
  /** A body of the OpenAI fake's answers, or half of it on a dead socket for a `cut-stream` fault. */
  function sendOrCut(res: ServerResponse, out: string, cutAfter: number | undefined): void {
    return cutAfter !== undefined ? cutBody(res, JSON_HEADERS, out) : send(res, 200, out);
  }

  function chatAnswer(req: IncomingMessage, res: ServerResponse, body: Json, cutAfter: number | undefined): Promise<void> | void {
    refuseUnknownFields(body, CHAT_FIELDS, VLLM_CHAT_PARAMS);
    const openAIBody = takeVllmParams(body, VLLM_CHAT_PARAMS);
    const model = resolveModel(openAIBody, chatModels);
    const r = validateChat({ ...openAIBody, model }, new Set(chatModels));
    const a = answerChat(r);
    if (r.stream) {
      const frames = vllmStreamFrames(chatStreamFrames(r, a, ids));
      const { 'openai-version': _openAIOnly, ...headers } = SSE_HEADERS;
      return writeSse(res, headers, frames, chunkDelay(req, defaultChunkDelay), cutAfter, timers);
    }
    return sendOrCut(res, vllmChatBody(chatBody(r, a, ids)), cutAfter);
  }

  function embeddingsAnswer(res: ServerResponse, body: Json, cutAfter: number | undefined): void {
    refuseUnknownFields(body, EMBEDDING_FIELDS, VLLM_EMBEDDING_PARAMS);
    const openAIBody = takeVllmParams(body, VLLM_EMBEDDING_PARAMS);
    const model = resolveModel(openAIBody, embeddingModels);
    if (openAIBody.dimensions !== undefined && openAIBody.dimensions !== null) {
      throw new VllmError(400, `Model "${model}" does not support matryoshka representation, changing output dimensions will lead to poor results.`);
    }
    return sendOrCut(res, embeddingsBody(validateEmbeddings({ ...openAIBody, model }, new Set(embeddingModels), defaultDims)), cutAfter);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const path = requestPath(req.url ?? '/');
    const parsed = parseJsonBody(raw);
    const body = parsed === BAD_JSON ? null : parsed;
    if (record) requests.push({ method, path, headers: req.headers, body, receivedAt: Date.now() });

    const outcome = await runFaults(req, res, faultQueue, timers, {
      badHeader: (message) => send(res, 400, new VllmError(400, message).body),
      status: (f, extra) => {
        const e = new VllmError(f.status, f.message ?? `Injected fault: status ${f.status}.`);
        send(res, e.status, e.body, extra);
      },
    });
    if (outcome === null) return;
    const { cutAfter } = outcome;

    const allowed = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (allowed === undefined) return send(res, 404, NOT_FOUND_BODY);
    if (allowed !== method) return send(res, 405, METHOD_NOT_ALLOWED_BODY);
    if (expectedAuth !== undefined && path.startsWith('/v1/') && req.headers.authorization !== expectedAuth) {
      return send(res, 401, UNAUTHORIZED_BODY);
    }
    if (path === '/health') return send(res, 200, '');
    if (path === '/v1/models') return send(res, 200, modelList);

    try {
      if (parsed === BAD_JSON) throw JSON_INVALID;
      if (!isObj(body)) throw pydanticError('model_attributes_type', 'body', 'Input should be a valid dictionary or object to extract fields from', body);
      if (path === '/v1/embeddings') return embeddingsAnswer(res, body, cutAfter);
      return await chatAnswer(req, res, body, cutAfter);
    } catch (e) {
      if (e instanceof VllmError) return send(res, e.status, e.body);
      if (e instanceof ApiError) return send(res, e.status, fromApiError(e).body);
      throw e;
    }
  }

  const sendInternalError = (res: ServerResponse, message: string): void => send(res, 500, new VllmError(500, message).body);
  return serveFake(opts, { basePath: '/v1', requests, faults: faultQueue, timers, handle, sendInternalError });
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) await runFakeCli(startFakeVllm, 'FAKE_VLLM_URL');
