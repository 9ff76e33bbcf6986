/**
 * Strict fake Google Gemini provider (Generative Language API v1beta) for end-to-end tests, benchmarks and the demo.
 * This file holds the public API, the server and the routing; the pieces live in `gemini/` and `shared/`.
 *
 * - Serves `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent` (only with `alt=sse`, framed like
 *   Google: `data: {…}\r\n\r\n`, several events, usage complete in the last), `:batchEmbedContents`,
 *   `:embedContent`, `:countTokens` (`contents` or a `generateContentRequest` naming the model; `totalTokens` is the
 *   fake's word count of the prompt, the `promptTokenCount` a generation reports), and `GET /v1beta/models[/{model}]`.
 * - Strict like Google's proto JSON parser: unknown fields anywhere (`Unknown name "foo"`), wrong types, roles other
 *   than user/model, empty contents/parts/text, a function response without a matching call in the turn before,
 *   `additionalProperties` (or any JSON Schema keyword Gemini lacks) in schemas; errors in Google's shape.
 * - The key must come in `x-goog-api-key` (missing: 403, wrong: 400 API_KEY_INVALID). A `key=` query parameter is
 *   refused with a 400 (Google accepts it; the gateway must never put a key in a URL).
 * - Deterministic answers: `Echo: <last user text>`; a function call when tools are declared with mode ANY; JSON in
 *   JSON mode; a blocked prompt when the text contains `[fake:block]`; hashed embeddings. `gemini-3*` models sign
 *   their function calls (`thoughtSignature`) and refuse a history whose function calls lost their signature.
 * - Implicit caching: a repeated prefix (system instruction + all turns but the last) of ≥ 1,024 tokens is reported
 *   as `cachedContentTokenCount` from its second request on.
 * - Faults: `pushFault()` or the `x-fake-fault` header (`status=429;retry-after=2`, `status=503`, `delay=200`, `hang`,
 *   `reset`, `cut-stream=2`), with Google error bodies; `x-fake-chunk-delay-ms: 100` spaces stream events.
 * - HTTPS when given `tls`; `url` then starts with `https://`.
 *
 * CLI: `node test/fakes/gemini-provider.ts --port 0 [--host H] [--api-key K] [--chunk-delay-ms N] [--tls-cert F --tls-key F]`
 * prints `FAKE_GEMINI_URL=<url>` and runs until SIGINT/SIGTERM.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runFakeCli } from './shared/cli.ts';
import { serveFake } from './shared/fake-handle.ts';
import type { FakeHandle, FakeServerOptions } from './shared/fake-handle.ts';
import { FaultQueue, runFaults } from './shared/faults.ts';
import type { FakeFault } from './shared/faults.ts';
import { BAD_JSON, cutBody, parseJsonBody } from './shared/http.ts';
import type { RecordedRequest } from './shared/http.ts';
import { chunkDelay, writeSse } from './shared/sse.ts';
import { ServerTimers } from './shared/timers.ts';
import { answerGenerate, generateBody, promptTokensOf, streamFrames } from './gemini/answer.ts';
import { batchEmbedBody, embedBody } from './gemini/embeddings.ts';
import {
  GoogleError, invalidKeyError, keyInUrlError, missingKeyError, modelNotFoundError, notFoundPage, statusFaultError,
} from './gemini/errors.ts';
import { modelBodies } from './gemini/models.ts';
import { validateCount, validateGenerate } from './gemini/validate-generate.ts';

// ───────────────────────────────────────────────────────────────── public API

export type { FakeFault } from './shared/faults.ts';
export type { FakeTlsOptions, RecordedRequest } from './shared/http.ts';

export interface FakeGeminiOptions extends FakeServerOptions {
  /** The key `x-goog-api-key` must carry. Without it any non-empty key is accepted, but one is always required. */
  apiKey?: string;
  models?: { chat?: string[]; embeddings?: string[] };
  /** Embedding size when the request has no `outputDimensionality` (default 8). */
  embeddingDimensions?: number;
}

/** Recorded requests carry `path` without the query string and the query in `query`. */
export interface FakeGemini extends FakeHandle<RecordedRequest & { query: string }, FakeFault> {
  /** Base URL including `/v1beta`, e.g. `http://127.0.0.1:PORT/v1beta` (`https://` with `tls`). */
  readonly url: string;
}

export const DEFAULT_GEMINI_CHAT_MODELS: readonly string[] = ['gemini-3-pro-preview', 'gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.0-flash', 'gemini-2.0-flash-lite'];
export const DEFAULT_GEMINI_EMBEDDING_MODELS: readonly string[] = ['gemini-embedding-001', 'text-embedding-004'];

// ───────────────────────────────────────────────────────────────── server

const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8', server: 'scaffolding on HTTPServer2' } as const;
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', server: 'scaffolding on HTTPServer2' } as const;
const MODEL_METHOD = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/;
const CHAT_METHODS: ReadonlySet<string> = new Set(['generateContent', 'streamGenerateContent', 'countTokens']);
const EMBED_METHODS: ReadonlySet<string> = new Set(['batchEmbedContents', 'embedContent']);

export async function startFakeGemini(opts: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const chatModels: ReadonlySet<string> = new Set(opts.models?.chat ?? DEFAULT_GEMINI_CHAT_MODELS);
  const embeddingModels: ReadonlySet<string> = new Set(opts.models?.embeddings ?? DEFAULT_GEMINI_EMBEDDING_MODELS);
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;
  const defaultDims = opts.embeddingDimensions ?? 8;
  const models = modelBodies([...chatModels], [...embeddingModels]);

  const requests: Array<RecordedRequest & { query: string }> = [];
  /** Prompt prefixes seen by this server (implicit caching; kept for the server's lifetime). */
  const promptCache = new Set<string>();
  let responseIds = 0;
  const faultQueue = new FaultQueue();
  const timers = new ServerTimers();

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = JSON_HEADERS): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
  function sendError(res: ServerResponse, e: GoogleError, extra?: Record<string, string>): void {
    send(res, e.status, e.body(), { ...JSON_HEADERS, ...extra });
  }
  function sendOrCut(res: ServerResponse, out: string, cutAfter: number | undefined): void {
    if (cutAfter !== undefined) return cutBody(res, JSON_HEADERS, out);
    return send(res, 200, out);
  }

  function checkKey(req: IncomingMessage, query: URLSearchParams): void {
    if (query.has('key')) throw keyInUrlError();
    const key = req.headers['x-goog-api-key'];
    if (typeof key !== 'string' || key === '') throw missingKeyError();
    if (opts.apiKey !== undefined && key !== opts.apiKey) throw invalidKeyError();
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const parsed = parseJsonBody(raw);
    const body = parsed === BAD_JSON ? null : parsed;
    if (record) requests.push({ method, path, query: url.search, headers: req.headers, body, receivedAt: Date.now() });

    const outcome = await runFaults(req, res, faultQueue, timers, {
      badHeader: (message) => sendError(res, new GoogleError(400, message)),
      // Google sends no Retry-After header: its only retry hint is the RetryInfo detail in the body.
      status: (f) => sendError(res, statusFaultError(f.status, f.message, f.retryAfterSeconds)),
    });
    if (outcome === null) return;
    const { cutAfter } = outcome;

    try {
      const call = method === 'POST' ? MODEL_METHOD.exec(path) : null;
      if (call) {
        checkKey(req, url.searchParams);
        const model = decodeURIComponent(call[1] ?? '');
        const action = call[2] ?? '';
        if (!CHAT_METHODS.has(action) && !EMBED_METHODS.has(action)) return send(res, 404, notFoundPage(method, path), { 'content-type': 'text/html; charset=UTF-8' });
        const served = CHAT_METHODS.has(action) ? chatModels : embeddingModels;
        if (!served.has(model)) throw modelNotFoundError(model, action);
        if (parsed === BAD_JSON) throw new GoogleError(400, `Invalid JSON payload received. Unexpected token.\n${String(raw ?? '').slice(0, 40)}\n^`);
        if (action === 'batchEmbedContents') return sendOrCut(res, batchEmbedBody(body, model, defaultDims), cutAfter);
        if (action === 'embedContent') return sendOrCut(res, embedBody(body, model, defaultDims), cutAfter);
        if (action === 'countTokens') {
          const tokens = promptTokensOf(validateCount(body ?? {}, model));
          return sendOrCut(res, JSON.stringify({ totalTokens: tokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: tokens }] }), cutAfter);
        }
        if (action === 'streamGenerateContent' && url.searchParams.get('alt') !== 'sse') {
          throw new GoogleError(400, 'This fake serves streamGenerateContent only with alt=sse (Server-Sent Events); without it Google streams one JSON array.');
        }
        const r = validateGenerate(body ?? {}, model.startsWith('gemini-3'), model);
        const a = answerGenerate(r, promptCache);
        const responseId = `fake-gemini-${++responseIds}`;
        if (action === 'generateContent') return sendOrCut(res, generateBody(r, a, model, responseId), cutAfter);
        return await writeSse(res, SSE_HEADERS, streamFrames(r, a, model, responseId), chunkDelay(req, defaultChunkDelay), cutAfter, timers);
      }
      if (method === 'GET' && (path === '/v1beta/models' || path.startsWith('/v1beta/models/'))) {
        checkKey(req, url.searchParams);
        if (path === '/v1beta/models') return send(res, 200, models.list);
        const id = decodeURIComponent(path.slice('/v1beta/models/'.length));
        const m = models.byId.get(id);
        if (m !== undefined) return send(res, 200, m);
        throw new GoogleError(404, `models/${id} is not found for API version v1beta.`);
      }
      return send(res, 404, notFoundPage(method, path), { 'content-type': 'text/html; charset=UTF-8' });
    } catch (e) {
      if (e instanceof GoogleError) return sendError(res, e);
      if (e instanceof URIError) return sendError(res, new GoogleError(400, 'Invalid model name in the URL.'));
      throw e;
    }
  }

  const sendInternalError = (res: ServerResponse, message: string): void => sendError(res, new GoogleError(500, message));
  return serveFake(opts, { basePath: '/v1beta', requests, faults: faultQueue, timers, handle, sendInternalError });
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) await runFakeCli(startFakeGemini, 'FAKE_GEMINI_URL');
