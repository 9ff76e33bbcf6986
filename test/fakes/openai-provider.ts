/**
 * Strict fake OpenAI-compatible provider for end-to-end tests, benchmarks and the demo. This file holds the
 * public API, the server and the routing; the pieces live in `openai/` (OpenAI wire format) and `shared/`.
 *
 * - Speaks the real wire format of `POST /v1/chat/completions` (JSON and SSE), `POST /v1/embeddings`,
 *   `GET /v1/models` and `GET /v1/models/{id}`, and validates request bodies like the real API does
 *   (unknown fields, types, ranges, message sequencing), answering with OpenAI-shaped errors.
 * - Deterministic answers: `Echo: <last user text>`, tool calls for the first / chosen tool, hashed embeddings.
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
import { FaultHeaderError, FaultQueue, applyFaults, faultsFor } from './shared/faults.ts';
import type { FakeFault, FaultOutcome, StatusFault } from './shared/faults.ts';
import { BAD_JSON, closeServer, createFakeServer, cutBody, listen, origin, parseJsonBody, readBody, requestPath } from './shared/http.ts';
import type { FakeTlsOptions, RecordedRequest } from './shared/http.ts';
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

// ───────────────────────────────────────────────────────────────── public API

export type { FakeFault } from './shared/faults.ts';
export type { FakeTlsOptions, RecordedRequest } from './shared/http.ts';

export interface FakeOpenAIOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** If set, requests need `Authorization: Bearer <apiKey>`, else 401 `invalid_api_key`. */
  apiKey?: string;
  models?: { chat?: string[]; embeddings?: string[] };
  /** Pause between SSE chunks (default 0; overridden per request by `x-fake-chunk-delay-ms`). */
  chunkDelayMs?: number;
  /** Default true. When false nothing is recorded in `requests` (benchmarks); `requestCount` still counts. */
  recordBodies?: boolean;
  /** Embedding size when the request has no `dimensions` (default 8). */
  embeddingDimensions?: number;
  /** Serve HTTPS with this certificate and key instead of plain HTTP. */
  tls?: FakeTlsOptions;
}

export interface FakeOpenAI {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1` (`https://` with `tls`). */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  readonly requestCount: number;
  /** Queue a fault for the next `times` (default 1, may be Infinity) requests, any endpoint. */
  pushFault(f: FakeFault, times?: number): void;
  clearFaults(): void;
  /** Clears recorded requests, the request count and queued faults. */
  reset(): void;
  close(): Promise<void>;
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

const JSON_HEADERS = { 'content-type': 'application/json', 'openai-version': '2020-10-01' } as const;

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const host = opts.host ?? '127.0.0.1';
  const chatModels: ReadonlySet<string> = new Set(opts.models?.chat ?? DEFAULT_CHAT_MODELS);
  const embeddingModels: ReadonlySet<string> = new Set(opts.models?.embeddings ?? DEFAULT_EMBEDDING_MODELS);
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;
  const defaultDims = opts.embeddingDimensions ?? 8;
  const expectedAuth = opts.apiKey !== undefined ? `Bearer ${opts.apiKey}` : undefined;
  const models = modelBodies([...chatModels, ...embeddingModels]);

  const requests: RecordedRequest[] = [];
  let requestCount = 0;
  const ids: IdCounters = { id: 0, call: 0 };
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

    let faults: readonly FakeFault[];
    try {
      faults = faultsFor(req, faultQueue);
    } catch (e) {
      if (e instanceof FaultHeaderError) return sendError(res, new ApiError(400, e.message, 'x-fake-fault'));
      throw e;
    }
    let cutAfter: number | undefined;
    if (faults.length > 0) {
      const outcome: FaultOutcome = await applyFaults(faults, req, res, timers, (f: StatusFault, extra) =>
        sendError(res, statusFaultError(f.status, f.message), extra),
      );
      if (outcome === null) return;
      cutAfter = outcome.cutAfter;
    }

    if (expectedAuth !== undefined) {
      const auth = req.headers.authorization;
      if (auth !== expectedAuth) return sendError(res, invalidKeyError(auth));
    }

    try {
      if (method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/embeddings')) {
        if (parsed === BAD_JSON || raw === null || raw.length === 0) throw new ApiError(400, PARSE_ERROR_MESSAGE);
        if (!isObj(body)) throw new ApiError(400, `Invalid type for request body: expected an object, but got ${describe(body)} instead.`, null, 'invalid_type');
        if (path === '/v1/embeddings') return sendOrCut(res, embeddingsBody(validateEmbeddings(body, embeddingModels, defaultDims)), cutAfter);
        const r = validateChat(body, chatModels);
        const a = answerChat(r);
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

  const server = createFakeServer((req, res) => {
    requestCount++;
    readBody(req, (raw) => {
      handle(req, res, raw).catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) send(res, 500, errorBody(`Fake provider internal error: ${msg}`, 'server_error', null, null));
        else res.destroy();
      });
    });
  }, { tls: opts.tls });
  const port = await listen(server, opts.port ?? 0, host);
  let closing: Promise<void> | undefined;

  return {
    url: `${origin(host, port, opts.tls !== undefined)}/v1`,
    port,
    get requests() {
      return requests;
    },
    get requestCount() {
      return requestCount;
    },
    pushFault(f: FakeFault, times = 1) {
      faultQueue.push(f, times);
    },
    clearFaults() {
      faultQueue.clear();
    },
    reset() {
      requests.length = 0;
      requestCount = 0;
      faultQueue.clear();
    },
    close() {
      if (closing === undefined) {
        timers.stopAll();
        closing = closeServer(server);
      }
      return closing;
    },
  };
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) await runFakeCli(startFakeOpenAI, 'FAKE_OPENAI_URL');
