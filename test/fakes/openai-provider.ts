/**
 * Strict fake OpenAI-compatible provider for end-to-end tests, benchmarks and the demo. This file holds the
 * public API, the server and the routing; the pieces live in `openai/` (OpenAI wire format) and `shared/`.
 *
 * - Speaks the real wire format of `POST /v1/chat/completions` (JSON and SSE), `POST /v1/responses` (JSON and typed
 *   events; `x-fake-stream-error-after: N` ends a stream with `error` + `response.failed` after N events), `POST /v1/embeddings`,
 *   `GET /v1/models` and `GET /v1/models/{id}`, and validates request bodies like the real API does
 *   (unknown fields, types, ranges, message sequencing), answering with OpenAI-shaped errors.
 * - Deterministic answers: `Echo: <last user text>`, tool calls for the first / chosen tool, hashed embeddings.
 *   Automatic prompt caching of chat prefixes (all messages but the last) of ≥ 1,024 tokens: the second request with
 *   the same prefix reports them (in 128-token steps) as `prompt_tokens_details.cached_tokens`.
 * - Fault injection: queued with `pushFault()` or per request with the `x-fake-fault` header
 *   (`status=429;retry-after=2`, `status=503`, `delay=200`, `hang`, `reset`, `cut-stream=3`; segments may be
 *   combined, e.g. `delay=50;status=500`), and `x-fake-chunk-delay-ms: 100` to space stream chunks.
 *
 * - HTTPS when given `tls` (a certificate from `test/helpers/test-ca.ts`); `url` then starts with `https://`.
 *
 * CLI: `node test/fakes/openai-provider.ts --port 0 [--host H] [--api-key K] [--chunk-delay-ms N] [--tls-cert F --tls-key F]`
 * prints `FAKE_OPENAI_URL=<url>` and runs until SIGINT/SIGTERM.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runFakeCli } from './shared/cli.ts';
import { serveFake } from './shared/fake-handle.ts';
import type { FakeHandle, FakeServerOptions } from './shared/fake-handle.ts';
import { FaultQueue, runFaults } from './shared/faults.ts';
import type { FakeFault } from './shared/faults.ts';
import { BAD_JSON, cutBody, parseJsonBody, requestPath } from './shared/http.ts';
import type { RecordedRequest } from './shared/http.ts';
import { isObj } from './shared/json.ts';
import { chunkDelay, writeSse } from './shared/sse.ts';
import { ServerTimers } from './shared/timers.ts';
import { answerChat, chatBody } from './openai/completions.ts';
import type { IdCounters } from './openai/completions.ts';
import { embeddingsBody } from './openai/embeddings.ts';
import { ApiError, PARSE_ERROR_MESSAGE, describe, errorBody, invalidKeyError, statusFaultError } from './openai/errors.ts';
import { modelBodies } from './openai/models.ts';
import { SSE_HEADERS, chatStreamFrames } from './openai/stream.ts';
import { validateChat } from './openai/validate-chat.ts';
import { validateEmbeddings } from './openai/validate-embeddings.ts';
import { answerResponses, responsesBody, responsesStreamFrames, validateResponses } from './openai/responses.ts';

// ───────────────────────────────────────────────────────────────── public API

export type { FakeFault } from './shared/faults.ts';
export type { FakeTlsOptions, RecordedRequest } from './shared/http.ts';

export interface FakeOpenAIOptions extends FakeServerOptions {
  /** If set, requests need `Authorization: Bearer <apiKey>`, else 401 `invalid_api_key`. */
  apiKey?: string;
  models?: { chat?: string[]; embeddings?: string[] };
  /** Embedding size when the request has no `dimensions` (default 8). */
  embeddingDimensions?: number;
}

export interface FakeOpenAI extends FakeHandle<RecordedRequest, FakeFault> {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1` (`https://` with `tls`). */
  readonly url: string;
}

export const DEFAULT_CHAT_MODELS: readonly string[] = [
  'gpt-4o-mini',
  'gpt-4o',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-3.5-turbo',
];
export const DEFAULT_EMBEDDING_MODELS: readonly string[] = [
  'text-embedding-3-small',
  'text-embedding-3-large',
  'text-embedding-ada-002',
];

// ───────────────────────────────────────────────────────────────── server

/** Like OpenAI, every answer reports the caller's rate-limit state with the provider (a gateway must not pass it on). */
const PROVIDER_RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit-requests': '10000', 'x-ratelimit-remaining-requests': '9999', 'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-limit-tokens': '30000000', 'x-ratelimit-remaining-tokens': '29999990', 'x-ratelimit-reset-tokens': '0s',
} as const;
const JSON_HEADERS = { 'content-type': 'application/json', 'openai-version': '2020-10-01', ...PROVIDER_RATE_LIMIT_HEADERS } as const;

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const chatModels: ReadonlySet<string> = new Set(opts.models?.chat ?? DEFAULT_CHAT_MODELS);
  const embeddingModels: ReadonlySet<string> = new Set(opts.models?.embeddings ?? DEFAULT_EMBEDDING_MODELS);
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;
  const defaultDims = opts.embeddingDimensions ?? 8;
  const expectedAuth = opts.apiKey !== undefined ? `Bearer ${opts.apiKey}` : undefined;
  const models = modelBodies([...chatModels, ...embeddingModels]);

  const requests: RecordedRequest[] = [];
  const ids: IdCounters = { id: 0, call: 0 };
  /** Prompt prefixes seen by this server (automatic prompt caching; kept for the server's lifetime). */
  const promptCache = new Set<string>();
  const faultQueue = new FaultQueue();
  const timers = new ServerTimers();

  function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    if (res.destroyed) return;
    res.writeHead(status, {
      ...JSON_HEADERS,
      'x-request-id': `req_fake_${++ids.id}`,
      'content-length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(body);
  }
  function sendError(res: ServerResponse, e: ApiError, extra?: Record<string, string>): void {
    send(res, e.status, errorBody(e.message, e.type, e.param, e.code), extra);
  }
  /** A full body, or half of it on a dead socket when the request carries a `cut-stream` fault. */
  function sendOrCut(res: ServerResponse, out: string, cutAfter: number | undefined): void {
    if (cutAfter !== undefined) return cutBody(res, JSON_HEADERS, out);
    return send(res, 200, out);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const path = requestPath(req.url ?? '/');
    const parsed = parseJsonBody(raw);
    const body = parsed === BAD_JSON ? null : parsed;
    if (record) requests.push({ method, path, headers: req.headers, body, receivedAt: Date.now() });

    const outcome = await runFaults(req, res, faultQueue, timers, {
      badHeader: (message) => sendError(res, new ApiError(400, message, 'x-fake-fault')),
      status: (f, extra) => sendError(res, statusFaultError(f.status, f.message), extra),
    });
    if (outcome === null) return;
    const { cutAfter } = outcome;

    if (expectedAuth !== undefined) {
      const auth = req.headers.authorization;
      if (auth !== expectedAuth) return sendError(res, invalidKeyError(auth));
    }

    try {
      if (method === 'POST' && path === '/v1/responses') {
        if (parsed === BAD_JSON || raw === null || raw.length === 0) throw new ApiError(400, PARSE_ERROR_MESSAGE);
        if (!isObj(body)) throw new ApiError(400, `Invalid type for request body: expected an object, but got ${describe(body)} instead.`, null, 'invalid_type');
        const r = validateResponses(body, chatModels);
        const a = answerResponses(r);
        if (r.chat.stream) {
          const failHeader = req.headers['x-fake-stream-error-after'];
          const failAfter = typeof failHeader === 'string' && failHeader !== '' ? Number(failHeader) : undefined;
          const frames = responsesStreamFrames(r, a, ids, failAfter);
          const headers = { ...SSE_HEADERS, 'x-request-id': `req_fake_${++ids.id}` };
          return await writeSse(res, headers, frames, chunkDelay(req, defaultChunkDelay), cutAfter, timers);
        }
        return sendOrCut(res, responsesBody(r, a, ids), cutAfter);
      }
      if (method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/embeddings')) {
        if (parsed === BAD_JSON || raw === null || raw.length === 0) throw new ApiError(400, PARSE_ERROR_MESSAGE);
        if (!isObj(body)) throw new ApiError(400, `Invalid type for request body: expected an object, but got ${describe(body)} instead.`, null, 'invalid_type');
        if (path === '/v1/embeddings') return sendOrCut(res, embeddingsBody(validateEmbeddings(body, embeddingModels, defaultDims)), cutAfter);
        const r = validateChat(body, chatModels);
        const a = answerChat(r, promptCache);
        if (r.stream) {
          const frames = chatStreamFrames(r, a, ids);
          const headers = { ...SSE_HEADERS, 'x-request-id': `req_fake_${++ids.id}` };
          return await writeSse(res, headers, frames, chunkDelay(req, defaultChunkDelay), cutAfter, timers);
        }
        return sendOrCut(res, chatBody(r, a, ids), cutAfter);
      }
      if (method === 'GET' && path === '/v1/models') return send(res, 200, models.list);
      if (method === 'GET' && path.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        const m = models.byId.get(id);
        if (m !== undefined) return send(res, 200, m);
        throw new ApiError(404, `The model '${id}' does not exist`, 'model', 'model_not_found');
      }
      throw new ApiError(404, `Invalid URL (${method} ${path})`);
    } catch (e) {
      if (e instanceof ApiError) return sendError(res, e);
      throw e;
    }
  }

  const sendInternalError = (res: ServerResponse, message: string): void => send(res, 500, errorBody(message, 'server_error', null, null));
  return serveFake(opts, { basePath: '/v1', requests, faults: faultQueue, timers, handle, sendInternalError });
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) await runFakeCli(startFakeOpenAI, 'FAKE_OPENAI_URL');
