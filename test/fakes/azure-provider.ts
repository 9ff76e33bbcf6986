/**
 * Strict fake Azure OpenAI resource for end-to-end tests. Built on the OpenAI fake's validators and answers
 * (`openai/`) and the shared plumbing (`shared/`); what is Azure's own lives in `azure/`.
 *
 * - `POST /openai/deployments/{deployment}/chat/completions` and `/embeddings`, with `?api-version=` from a
 *   configured list (missing → 404 "Resource not found" as the real service answers; unknown → 400) and the key in
 *   the `api-key` header (401 otherwise; an `Authorization: Bearer` header is read as an Entra ID token and refused).
 * - Unknown deployment → 404 `DeploymentNotFound`; a chat call on an embeddings deployment → 400
 *   `OperationNotSupported`. The body's `model` is ignored, as Azure does: the deployment decides.
 * - Bodies are validated like OpenAI's (same messages); `stream_options` is refused below API version 2024-09-01,
 *   as the real service does. Answers carry Azure's `prompt_filter_results` / `content_filter_results`; a prompt
 *   containing `CONTENT_FILTER_TRIGGER` gets the 400 `content_filter` error.
 * - Faults as the OpenAI fake (`pushFault()`, `x-fake-fault`), answered in Azure's error shape (429 with
 *   `retry-after`). Every request is recorded with its query, so tests can check the key never went into the URL.
 * - HTTPS with `tls`; `x-ms-region` tells which resource (region) answered.
 *
 * CLI: `node test/fakes/azure-provider.ts --port 0 [--host H] [--api-key K] [--tls-cert F --tls-key F]`
 * prints `FAKE_AZURE_URL=<url>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AzureError, apiVersionNotSupported, deploymentNotFound, invalidBearerToken, invalidKey, operationNotSupported, promptFiltered, resourceNotFound, statusFaultError } from './azure/errors.ts';
import { CONTENT_FILTER_TRIGGER, FILTERED_PROMPT_RESULTS, azureChatBody, azureStreamFrames } from './azure/content-filter.ts';
import { answerChat, chatBody } from './openai/completions.ts';
import type { IdCounters } from './openai/completions.ts';
import { embeddingsBody } from './openai/embeddings.ts';
import { ApiError, PARSE_ERROR_MESSAGE, describe, errorBody, unrecognized } from './openai/errors.ts';
import { SSE_HEADERS, chatStreamFrames } from './openai/stream.ts';
import { validateChat } from './openai/validate-chat.ts';
import { validateEmbeddings } from './openai/validate-embeddings.ts';
import { runFakeCli } from './shared/cli.ts';
import { serveFake } from './shared/fake-handle.ts';
import type { FakeHandle, FakeServerOptions } from './shared/fake-handle.ts';
import { FaultQueue, runFaults } from './shared/faults.ts';
import type { FakeFault } from './shared/faults.ts';
import { BAD_JSON, cutBody, parseJsonBody } from './shared/http.ts';
import type { TLSSocket } from 'node:tls';
import type { RecordedRequest } from './shared/http.ts';
import { isObj } from './shared/json.ts';
import type { Json } from './shared/json.ts';
import { chunkDelay, writeSse } from './shared/sse.ts';
import { contentText } from './shared/text.ts';
import { ServerTimers } from './shared/timers.ts';

// ───────────────────────────────────────────────────────────────── public API

export type { FakeFault } from './shared/faults.ts';
export { CONTENT_FILTER_TRIGGER } from './azure/content-filter.ts';

export interface AzureDeployment {
  /** The model behind the deployment (what answers report as `model`). */
  model: string;
  kind: 'chat' | 'embeddings';
}

export interface FakeAzureOptions extends FakeServerOptions {
  /** The resource key expected in `api-key` (default `FAKE_AZURE_KEY`). */
  apiKey?: string;
  /** Accepted `api-version` values (default `DEFAULT_API_VERSIONS`). */
  apiVersions?: readonly string[];
  /** Deployment name → model (default `DEFAULT_DEPLOYMENTS`). */
  deployments?: Readonly<Record<string, AzureDeployment>>;
  /** Sent as `x-ms-region` on every answer (default `swedencentral`). */
  region?: string;
  embeddingDimensions?: number;
}

export interface AzureRecordedRequest extends RecordedRequest {
  /** The query string's parameters (`api-version`, and anything else that was sent). */
  query: Record<string, string>;
  /** The TLS server name (SNI) the client sent, when served over HTTPS. */
  servername: string | null;
}

export interface FakeAzure extends FakeHandle<AzureRecordedRequest, FakeFault> {
  /** The resource endpoint, e.g. `https://127.0.0.1:PORT` (a provider's `base_url`; no `/openai`). */
  readonly url: string;
}

export const FAKE_AZURE_KEY = 'azure-fake-resource-key';
export const DEFAULT_API_VERSIONS: readonly string[] = ['2024-06-01', '2024-10-21', '2025-01-01-preview'];
export const DEFAULT_DEPLOYMENTS: Readonly<Record<string, AzureDeployment>> = {
  'gpt-4o-mini': { model: 'gpt-4o-mini', kind: 'chat' },
  'gpt-4o': { model: 'gpt-4o', kind: 'chat' },
  'text-embedding-3-small': { model: 'text-embedding-3-small', kind: 'embeddings' },
};

// ───────────────────────────────────────────────────────────────── server

const ROUTE = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/;
/** The operation names Azure uses in its messages, per path. */
const OPERATIONS = {
  'chat/completions': { kind: 'chat', name: 'ChatCompletions_Create', label: 'chatCompletion' },
  embeddings: { kind: 'embeddings', name: 'Embeddings_Create', label: 'embeddings' },
} as const;
/** The first API version (preview) that accepts `stream_options`; versions are dates, so strings compare in order. */
const STREAM_OPTIONS_SINCE = '2024-09-01-preview';
const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** A path segment's name; broken percent-encoding names no deployment. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

export async function startFakeAzure(opts: FakeAzureOptions = {}): Promise<FakeAzure> {
  const apiKey = opts.apiKey ?? FAKE_AZURE_KEY;
  const apiVersions: ReadonlySet<string> = new Set(opts.apiVersions ?? DEFAULT_API_VERSIONS);
  const deployments = new Map(Object.entries(opts.deployments ?? DEFAULT_DEPLOYMENTS));
  const region = opts.region ?? 'swedencentral';
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;
  const defaultDims = opts.embeddingDimensions ?? 8;

  const requests: AzureRecordedRequest[] = [];
  const ids: IdCounters = { id: 0, call: 0 };
  const faultQueue = new FaultQueue();
  const timers = new ServerTimers();

  function headers(extra?: Record<string, string>): Record<string, string> {
    const id = `00000000-0000-4000-8000-${String(++ids.id).padStart(12, '0')}`;
    return { 'apim-request-id': id, 'x-request-id': id, 'x-ms-region': region, ...extra };
  }
  function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...JSON_HEADERS, ...headers(extra), 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const parsed = parseJsonBody(raw);
    const body = parsed === BAD_JSON ? null : parsed;
    if (record) {
      const servername = (req.socket as TLSSocket).servername || null;
      requests.push({ method, path, query: Object.fromEntries(url.searchParams), headers: req.headers, body, receivedAt: Date.now(), servername });
    }

    const route = method === 'POST' ? ROUTE.exec(path) : null;
    const operation = OPERATIONS[(route?.[2] ?? 'chat/completions') as keyof typeof OPERATIONS];
    const apiVersion = url.searchParams.get('api-version');

    const outcome = await runFaults(req, res, faultQueue, timers, {
      badHeader: (message) => send(res, 400, errorBody(message, 'invalid_request_error', 'x-fake-fault', null)),
      status: (f, extra) => {
        const e = statusFaultError(f.status, f.message, operation.name, apiVersion ?? DEFAULT_API_VERSIONS[0] ?? '', f.retryAfterSeconds);
        // Azure sends its hint twice: retry-after in seconds and retry-after-ms (the OpenAI SDKs prefer the latter).
        const headers: Record<string, string> = { ...extra };
        if (f.retryAfterSeconds !== undefined) headers['retry-after-ms'] = String(f.retryAfterSeconds * 1000);
        send(res, e.status, e.body, headers);
      },
    });
    if (outcome === null) return;
    const { cutAfter } = outcome;

    try {
      if (!route || apiVersion === null) throw resourceNotFound();
      if (!apiVersions.has(apiVersion)) throw apiVersionNotSupported();
      const key = req.headers['api-key'];
      if (key === undefined && req.headers.authorization !== undefined) throw invalidBearerToken();
      if (key !== apiKey) throw invalidKey();
      const deployment = deployments.get(decodeSegment(route[1] ?? ''));
      if (!deployment) throw deploymentNotFound();
      if (deployment.kind !== operation.kind) throw operationNotSupported(operation.label, deployment.model);

      if (parsed === BAD_JSON || raw === null || raw.length === 0) throw new ApiError(400, PARSE_ERROR_MESSAGE);
      if (!isObj(body)) throw new ApiError(400, `Invalid type for request body: expected an object, but got ${describe(body)} instead.`, null, 'invalid_type');
      // The deployment decides the model; whatever `model` the body names is ignored.
      const asOpenAI: Json = { ...body, model: deployment.model };
      const models: ReadonlySet<string> = new Set([deployment.model]);

      if (deployment.kind === 'embeddings') {
        const out = embeddingsBody(validateEmbeddings(asOpenAI, models, defaultDims));
        return cutAfter !== undefined ? cutBody(res, JSON_HEADERS, out) : send(res, 200, out);
      }
      if (body.stream_options !== undefined && apiVersion < STREAM_OPTIONS_SINCE) throw unrecognized('stream_options');
      const r = validateChat(asOpenAI, models);
      if (r.messages.some((m) => contentText(m.content).includes(CONTENT_FILTER_TRIGGER))) throw promptFiltered(FILTERED_PROMPT_RESULTS);
      const a = answerChat(r);
      if (r.stream) {
        const frames = azureStreamFrames(chatStreamFrames(r, a, ids));
        const { 'openai-version': _openAIOnly, ...sseHeaders } = SSE_HEADERS;
        return await writeSse(res, { ...sseHeaders, ...headers() }, frames, chunkDelay(req, defaultChunkDelay), cutAfter, timers);
      }
      const out = azureChatBody(chatBody(r, a, ids));
      return cutAfter !== undefined ? cutBody(res, JSON_HEADERS, out) : send(res, 200, out);
    } catch (e) {
      if (e instanceof AzureError) return send(res, e.status, e.body);
      if (e instanceof ApiError) return send(res, e.status, errorBody(e.message, e.type, e.param, e.code));
      throw e;
    }
  }

  const sendInternalError = (res: ServerResponse, message: string): void => send(res, 500, JSON.stringify({ error: { code: 'InternalServerError', message } }));
  return serveFake(opts, { basePath: '', requests, faults: faultQueue, timers, handle, sendInternalError });
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) await runFakeCli(startFakeAzure, 'FAKE_AZURE_URL');
