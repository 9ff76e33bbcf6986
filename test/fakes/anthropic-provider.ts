/**
 * Strict fake of Anthropic's Messages API for end-to-end tests, the translator's golden tests and the demo. This
 * file holds the public API, the server and the routing; the pieces live in `anthropic/` and `shared/`.
 *
 * - `POST /v1/messages` in the real wire format (JSON and SSE with `event:` lines, ping included), validated like
 *   the real API: `x-api-key` and `anthropic-version` headers, JSON content type, no unknown fields, `max_tokens`
 *   required, user/assistant turns only, opening with user and alternating, tool_use ↔ tool_result pairing, types
 *   and bounds. Errors come as `{"type":"error","error":{"type","message"}}` with the real statuses.
 * - Deterministic answers: `Echo: <last user text>`, `Tool result: <text>` after tool results, tool_use for the
 *   first / chosen tool when tools are offered (input valid against its input_schema), `stop_sequences` and
 *   `max_tokens` honoured, word-count usage. Extended thinking (`thinking`, checked against max_tokens, temperature,
 *   top_p and forced tool use as the real API does) answers with a signed thinking block first, counted as output.
 *   `cache_control` marks (at most 4): a marked prefix of ≥ 1,024 tokens is written on first sight and read after.
 * - `POST /v1/messages/count_tokens`: the same header and prompt checks, only the prompt's fields (model, messages,
 *   system, tools, tool_choice, thinking; `max_tokens` is an unknown field there), answering `{"input_tokens": N}`
 *   with the fake's word count, which is what a message with that prompt reports as its input.
 * - Faults: `pushFault()` or the `x-fake-fault` header (`status=529`, `status=429;retry-after=2`, `delay=200`,
 *   `hang`, `reset`, `cut-stream=3`, `error-mid-stream=3`), and `x-fake-chunk-delay-ms: 100` to space events.
 *
 * - HTTPS when given `tls` (a certificate from `test/helpers/test-ca.ts`); `url` then starts with `https://`.
 *
 * CLI: `node test/fakes/anthropic-provider.ts --port 0 [--host H] [--api-key K] [--chunk-delay-ms N] [--tls-cert F --tls-key F]`
 * prints `FAKE_ANTHROPIC_URL=<url>` and runs until SIGINT/SIGTERM.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runFakeCli } from './shared/cli.ts';
import { serveFake } from './shared/fake-handle.ts';
import type { FakeHandle, FakeServerOptions } from './shared/fake-handle.ts';
import { FaultHeaderError, FaultQueue, applyFaults } from './shared/faults.ts';
import type { StatusFault } from './shared/faults.ts';
import { BAD_JSON, cutBody, parseJsonBody, requestPath } from './shared/http.ts';
import type { RecordedRequest } from './shared/http.ts';
import { isObj } from './shared/json.ts';
import { chunkDelay, writeSse } from './shared/sse.ts';
import { ServerTimers } from './shared/timers.ts';
import { answer, messageBody, promptTokensOf } from './anthropic/answer.ts';
import type { IdCounters } from './anthropic/answer.ts';
import { ApiError, errorBody, statusFaultError } from './anthropic/errors.ts';
import { anthropicFaultsFor, splitFaults } from './anthropic/faults.ts';
import type { AnthropicFault } from './anthropic/faults.ts';
import { SSE_HEADERS, errorEvent, messageStreamFrames } from './anthropic/stream.ts';
import { validateCountRequest, validateRequest } from './anthropic/validate-request.ts';

// ───────────────────────────────────────────────────────────────── public API

export type { AnthropicFault } from './anthropic/faults.ts';
export type { FakeTlsOptions, RecordedRequest } from './shared/http.ts';

export interface FakeAnthropicOptions extends FakeServerOptions {
  /** If set, `x-api-key` must equal it (else 401); an absent `x-api-key` is always a 401, as at Anthropic. */
  apiKey?: string;
  models?: string[];
}

export interface FakeAnthropic extends FakeHandle<RecordedRequest, AnthropicFault> {
  /** Origin without a path, e.g. `http://127.0.0.1:PORT` (`https://` with `tls`); requests go to `POST /v1/messages`. */
  readonly url: string;
}

export const DEFAULT_ANTHROPIC_MODELS: readonly string[] = [
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-1',
  'claude-3-5-haiku-latest',
];

/** The `anthropic-version` values the API accepts. */
const API_VERSIONS: ReadonlySet<string> = new Set(['2023-06-01', '2023-01-01']);

// ───────────────────────────────────────────────────────────────── server

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

export async function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const models: ReadonlySet<string> = new Set(opts.models ?? DEFAULT_ANTHROPIC_MODELS);
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;

  const requests: RecordedRequest[] = [];
  const ids: IdCounters = { id: 0, tool: 0 };
  /** Prompt prefixes marked with cache_control that this server has "cached" (kept for its lifetime, like a warm cache). */
  const promptCache = new Set<string>();
  const faultQueue = new FaultQueue<AnthropicFault>();
  const timers = new ServerTimers();
  const requestId = (): string => `req_fake${++ids.id}`;

  function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>, id = requestId()): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...JSON_HEADERS, 'request-id': id, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }
  function sendError(res: ServerResponse, e: ApiError, extra?: Record<string, string>): void {
    const id = requestId();
    send(res, e.status, errorBody(e.type, e.message, id), extra, id);
  }

  /** Headers the real API checks before it reads the body. */
  function checkHeaders(req: IncomingMessage): void {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') throw new ApiError(401, 'x-api-key header is required', 'authentication_error');
    if (opts.apiKey !== undefined && key !== opts.apiKey) throw new ApiError(401, 'invalid x-api-key', 'authentication_error');
    const version = req.headers['anthropic-version'];
    if (typeof version !== 'string' || version === '') throw new ApiError(400, 'anthropic-version: header is required');
    if (!API_VERSIONS.has(version)) throw new ApiError(400, `anthropic-version: invalid version "${version}"`);
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new ApiError(400, 'content-type: must be application/json');
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const path = requestPath(req.url ?? '/');
    const parsed = parseJsonBody(raw);
    const body = parsed === BAD_JSON ? null : parsed;
    if (record) requests.push({ method, path, headers: req.headers, body, receivedAt: Date.now() });

    let faults: AnthropicFault[];
    try {
      faults = anthropicFaultsFor(req, faultQueue);
    } catch (e) {
      if (e instanceof FaultHeaderError) return sendError(res, new ApiError(400, e.message));
      throw e;
    }
    const { shared, errorAfter } = splitFaults(faults);
    let cutAfter: number | undefined;
    if (shared.length > 0) {
      const outcome = await applyFaults(shared, req, res, timers, (f: StatusFault, extra) => sendError(res, statusFaultError(f.status, f.message), extra));
      if (outcome === null) return;
      cutAfter = outcome.cutAfter;
    }

    try {
      if (method !== 'POST' || (path !== '/v1/messages' && path !== COUNT_TOKENS_PATH)) throw new ApiError(404, 'Not Found', 'not_found_error');
      checkHeaders(req);
      if (parsed === BAD_JSON || raw === null || raw.length === 0) throw new ApiError(400, 'There was an error parsing the body of your request: it is not valid JSON.');
      if (!isObj(body)) throw new ApiError(400, 'Input should be a valid dictionary');
      if (path === COUNT_TOKENS_PATH) {
        const out = JSON.stringify({ input_tokens: promptTokensOf(validateCountRequest(body, models)) });
        if (cutAfter !== undefined) return cutBody(res, JSON_HEADERS, out);
        return send(res, 200, out);
      }
      const call = validateRequest(body, models);
      const a = answer(call, promptCache);
      if (call.stream) {
        let frames = messageStreamFrames(call, a, ids);
        if (errorAfter !== undefined) frames = [...frames.slice(0, Math.min(errorAfter, frames.length - 1)), errorEvent('overloaded_error', 'Overloaded')];
        const headers = { ...SSE_HEADERS, 'request-id': requestId() };
        return await writeSse(res, headers, frames, chunkDelay(req, defaultChunkDelay), cutAfter, timers);
      }
      const out = messageBody(call, a, ids);
      if (cutAfter !== undefined) return cutBody(res, JSON_HEADERS, out);
      return send(res, 200, out);
    } catch (e) {
      if (e instanceof ApiError) return sendError(res, e);
      throw e;
    }
  }

  const sendInternalError = (res: ServerResponse, message: string): void => sendError(res, new ApiError(500, message, 'api_error'));
  return serveFake(opts, { basePath: '', requests, faults: faultQueue, timers, handle, sendInternalError });
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) await runFakeCli(startFakeAnthropic, 'FAKE_ANTHROPIC_URL');
