/**
 * Strict fake OpenAI-compatible provider for end-to-end tests, benchmarks and the demo.
 *
 * - Speaks the real wire format of `POST /v1/chat/completions` (JSON and SSE), `POST /v1/embeddings`,
 *   `GET /v1/models` and `GET /v1/models/{id}`, and validates request bodies like the real API does
 *   (unknown fields, types, ranges, message sequencing), answering with OpenAI-shaped errors.
 * - Deterministic answers: `Echo: <last user text>`, tool calls for the first / chosen tool, hashed embeddings.
 * - Fault injection: queued with `pushFault()` or per request with the `x-fake-fault` header
 *   (`status=429;retry-after=2`, `status=503`, `delay=200`, `hang`, `reset`, `cut-stream=3`; segments may be
 *   combined, e.g. `delay=50;status=500`), and `x-fake-chunk-delay-ms: 100` to space stream chunks.
 *
 * CLI: `node test/fakes/openai-provider.ts --port 0 [--host H] [--api-key K] [--chunk-delay-ms N]`
 * prints `FAKE_OPENAI_URL=<url>` and runs until SIGINT/SIGTERM.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// ───────────────────────────────────────────────────────────────── public API

export type FakeFault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'cut-stream'; afterChunks: number };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null (no body / not JSON). */
  body: unknown;
  receivedAt: number;
}

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
}

export interface FakeOpenAI {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`. */
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

// ───────────────────────────────────────────────────────────────── errors

type Json = Record<string, unknown>;

class ApiError extends Error {
  status: number;
  type: string;
  param: string | null;
  code: string | null;
  constructor(status: number, message: string, param: string | null = null, code: string | null = null, type = 'invalid_request_error') {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }
}

function errorBody(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

const PARSE_ERROR_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
  'The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, ' +
  'please contact us through our help center at help.openai.com.)';
const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
  '(i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.';

function statusFaultError(status: number, message: string | undefined): ApiError {
  if (status === 429) return new ApiError(429, message ?? 'Rate limit reached for requests. Please try again later.', null, 'rate_limit_exceeded', 'requests');
  if (status >= 500) {
    const m =
      status === 503 ? 'The server is overloaded or not ready yet.'
      : status === 502 ? 'Bad gateway.'
      : status === 504 ? 'Gateway timeout.'
      : 'The server had an error while processing your request. Sorry about that!';
    return new ApiError(status, message ?? m, null, null, 'server_error');
  }
  return new ApiError(status, message ?? `Injected fault: status ${status}.`, null, null);
}

// ───────────────────────────────────────────────────────────────── validation helpers

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return 'a string';
    case 'boolean': return 'a boolean';
    case 'number': return Number.isInteger(v) ? 'an integer' : 'a decimal';
    case 'object': return 'an object';
    default: return typeof v;
  }
}

function typeError(param: string, expected: string, v: unknown): ApiError {
  return new ApiError(400, `Invalid type for '${param}': expected ${expected}, but got ${describe(v)} instead.`, param, 'invalid_type');
}
function missing(param: string): ApiError {
  return new ApiError(400, `Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}
function invalidValue(param: string, v: unknown, allowed: readonly string[]): ApiError {
  const list = allowed.map((a) => `'${a}'`);
  const joined = list.length > 1 ? `${list.slice(0, -1).join(', ')}, and ${list[list.length - 1]}` : (list[0] ?? '');
  return new ApiError(400, `Invalid value: '${String(v)}'. Supported values are: ${joined}.`, param, 'invalid_value');
}
function unrecognized(name: string): ApiError {
  return new ApiError(400, `Unrecognized request argument supplied: ${name}`);
}

function optBool(b: Json, k: string): boolean | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw typeError(k, 'a boolean', v);
  return v;
}
function optString(b: Json, k: string, param = k): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(param, 'a string', v);
  return v;
}
function optObject(b: Json, k: string, param = k): Json | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw typeError(param, 'an object', v);
  return v;
}
function optNumber(b: Json, k: string, min: number, max: number): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(k, 'a decimal', v);
  if (v < min) throw new ApiError(400, `Invalid '${k}': decimal below minimum value. Expected a value >= ${min}, but got ${v} instead.`, k, 'decimal_below_min_value');
  if (v > max) throw new ApiError(400, `Invalid '${k}': decimal above maximum value. Expected a value <= ${max}, but got ${v} instead.`, k, 'decimal_above_max_value');
  return v;
}
function optInt(b: Json, k: string, min: number, max: number, param = k): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(param, 'an integer', v);
  if (v < min) throw new ApiError(400, `Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${v} instead.`, param, 'integer_below_min_value');
  if (v > max) throw new ApiError(400, `Invalid '${param}': integer above maximum value. Expected a value <= ${max}, but got ${v} instead.`, param, 'integer_above_max_value');
  return v;
}
function optArray(b: Json, k: string, param = k): unknown[] | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(param, 'an array', v);
  return v;
}
function checkKeys(o: Json, allowed: ReadonlySet<string>, where: string): void {
  for (const k in o) {
    if (!allowed.has(k)) throw new ApiError(400, `Additional properties are not allowed ('${k}' was unexpected) - '${where}'`, where);
  }
}

// ───────────────────────────────────────────────────────────────── text helpers

const WORD_RE = /\S+/g;
function countWords(s: string): number {
  WORD_RE.lastIndex = 0;
  let n = 0;
  while (WORD_RE.exec(s) !== null) n++;
  return n;
}

/** Word pieces that keep their leading whitespace; trailing whitespace joins the last piece. */
function splitPieces(s: string): string[] {
  const pieces: string[] = s.match(/\s*\S+/g) ?? [];
  const used = pieces.reduce((a, p) => a + p.length, 0);
  if (used < s.length) {
    const rest = s.slice(used);
    if (pieces.length > 0) pieces[pieces.length - 1] += rest;
    else pieces.push(rest);
  }
  return pieces;
}

function splitFixed(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

/** Text of a message content: a string, or the `text` of its parts joined by a space. */
function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let out = '';
  let first = true;
  for (const p of c) {
    if (isObj(p) && typeof p.text === 'string') {
      out += first ? p.text : ' ' + p.text;
      first = false;
    }
  }
  return out;
}

// ───────────────────────────────────────────────────────────────── chat validation

const CHAT_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'stream', 'stream_options', 'temperature', 'top_p', 'n', 'stop', 'max_tokens',
  'max_completion_tokens', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs',
  'user', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'seed', 'service_tier', 'store',
  'metadata', 'modalities', 'reasoning_effort', 'prediction', 'audio', 'web_search_options', 'functions',
  'function_call',
]);
const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'] as const;
const ROLE_SET: ReadonlySet<string> = new Set(ROLES);
const MESSAGE_KEYS: Record<string, ReadonlySet<string>> = {
  system: new Set(['role', 'content', 'name']),
  developer: new Set(['role', 'content', 'name']),
  user: new Set(['role', 'content', 'name']),
  assistant: new Set(['role', 'content', 'name', 'tool_calls', 'function_call', 'refusal', 'audio', 'annotations']),
  tool: new Set(['role', 'content', 'tool_call_id']),
  function: new Set(['role', 'content', 'name']),
};
const USER_PART_TYPES = ['text', 'image_url', 'input_audio', 'file'] as const;
const USER_PART_SET: ReadonlySet<string> = new Set(USER_PART_TYPES);
const STREAM_OPTION_KEYS: ReadonlySet<string> = new Set(['include_usage', 'include_obfuscation']);
const SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority'] as const;
const SERVICE_TIER_SET: ReadonlySet<string> = new Set(SERVICE_TIERS);
const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

interface ChatRequest {
  model: string;
  messages: Json[];
  stream: boolean;
  includeUsage: boolean;
  n: number;
  maxTokens: number | undefined;
  toolNames: string[];
  toolChoice: 'none' | 'auto' | 'required' | { name: string } | undefined;
  json: boolean;
}

function validateContent(c: unknown, param: string, role: string): void {
  if (typeof c === 'string') return;
  if (!Array.isArray(c)) throw typeError(param, 'one of a string or array of objects', c);
  if (c.length === 0) throw new ApiError(400, `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`, param, 'empty_array');
  const allowed: readonly string[] =
    role === 'user' ? USER_PART_TYPES : role === 'assistant' ? ['text', 'refusal'] : ['text'];
  for (let i = 0; i < c.length; i++) {
    const p: unknown = c[i];
    const pp = `${param}[${i}]`;
    if (!isObj(p)) throw typeError(pp, 'an object', p);
    const t = p.type;
    if (t === undefined) throw missing(`${pp}.type`);
    if (typeof t !== 'string' || !(role === 'user' ? USER_PART_SET.has(t) : allowed.includes(t))) throw invalidValue(`${pp}.type`, t, allowed);
    if (t === 'text') {
      if (p.text === undefined) throw missing(`${pp}.text`);
      if (typeof p.text !== 'string') throw typeError(`${pp}.text`, 'a string', p.text);
    } else if (t === 'refusal') {
      if (typeof p.refusal !== 'string') throw typeError(`${pp}.refusal`, 'a string', p.refusal);
    } else if (t === 'image_url') {
      if (!isObj(p.image_url)) throw typeError(`${pp}.image_url`, 'an object', p.image_url);
      if (typeof p.image_url.url !== 'string') throw typeError(`${pp}.image_url.url`, 'a string', p.image_url.url);
    }
  }
}

function validateMessages(raw: unknown): Json[] {
  if (raw === undefined || raw === null) throw missing('messages');
  if (!Array.isArray(raw)) throw typeError('messages', 'an array of objects', raw);
  if (raw.length === 0) throw new ApiError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  const msgs: Json[] = [];
  // tool_call ids of the latest assistant message that still await a `tool` answer
  let pending: Set<string> | null = null;
  let pendingIndex = -1;
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i];
    const p = `messages[${i}]`;
    if (!isObj(m)) throw typeError(p, 'an object', m);
    const role = m.role;
    if (role === undefined || role === null) throw missing(`${p}.role`);
    if (typeof role !== 'string' || !ROLE_SET.has(role)) throw invalidValue(`${p}.role`, role, ROLES);
    const keys = MESSAGE_KEYS[role];
    if (keys) checkKeys(m, keys, `messages.${i}`);
    if (m.name !== undefined && m.name !== null && typeof m.name !== 'string') throw typeError(`${p}.name`, 'a string', m.name);

    if (role !== 'tool' && pending !== null && pending.size > 0) {
      throw new ApiError(
        400,
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
        `messages.[${pendingIndex}].role`,
      );
    }
    if (role !== 'tool') pending = null;

    switch (role) {
      case 'system':
      case 'developer':
      case 'user':
        if (m.content === undefined || m.content === null) throw missing(`${p}.content`);
        validateContent(m.content, `${p}.content`, role);
        break;
      case 'assistant': {
        const tc = m.tool_calls;
        const hasTools = tc !== undefined && tc !== null;
        if (hasTools) {
          if (!Array.isArray(tc)) throw typeError(`${p}.tool_calls`, 'an array', tc);
          if (tc.length === 0) throw new ApiError(400, `Invalid '${p}.tool_calls': empty array. Expected an array with minimum length 1, but got an empty array instead.`, `${p}.tool_calls`, 'empty_array');
          pending = new Set();
          pendingIndex = i;
          for (let j = 0; j < tc.length; j++) {
            const call: unknown = tc[j];
            const cp = `${p}.tool_calls[${j}]`;
            if (!isObj(call)) throw typeError(cp, 'an object', call);
            if (typeof call.id !== 'string') throw call.id === undefined ? missing(`${cp}.id`) : typeError(`${cp}.id`, 'a string', call.id);
            if (call.type !== 'function') throw invalidValue(`${cp}.type`, call.type, ['function']);
            const fn = call.function;
            if (!isObj(fn)) throw fn === undefined ? missing(`${cp}.function`) : typeError(`${cp}.function`, 'an object', fn);
            if (typeof fn.name !== 'string') throw fn.name === undefined ? missing(`${cp}.function.name`) : typeError(`${cp}.function.name`, 'a string', fn.name);
            if (typeof fn.arguments !== 'string') throw fn.arguments === undefined ? missing(`${cp}.function.arguments`) : typeError(`${cp}.function.arguments`, 'a string', fn.arguments);
            pending.add(call.id);
          }
        }
        const hasFn = m.function_call !== undefined && m.function_call !== null;
        if (m.content === undefined || m.content === null) {
          if (!hasTools && !hasFn) throw missing(`${p}.content`);
        } else {
          validateContent(m.content, `${p}.content`, role);
        }
        break;
      }
      case 'tool': {
        if (m.tool_call_id === undefined || m.tool_call_id === null) throw missing(`${p}.tool_call_id`);
        if (typeof m.tool_call_id !== 'string') throw typeError(`${p}.tool_call_id`, 'a string', m.tool_call_id);
        if (m.content === undefined || m.content === null) throw missing(`${p}.content`);
        validateContent(m.content, `${p}.content`, role);
        if (pending === null) {
          throw new ApiError(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages.[${i}].role`);
        }
        pending.delete(m.tool_call_id);
        break;
      }
      case 'function':
        if (typeof m.name !== 'string') throw missing(`${p}.name`);
        if (m.content !== null && typeof m.content !== 'string') throw typeError(`${p}.content`, 'a string', m.content);
        break;
    }
    msgs.push(m);
  }
  if (pending !== null && pending.size > 0) {
    throw new ApiError(
      400,
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
      `messages.[${pendingIndex}].role`,
    );
  }
  return msgs;
}

function validateChat(b: Json, chatModels: ReadonlySet<string>): ChatRequest {
  for (const k in b) if (!CHAT_FIELDS.has(k)) throw unrecognized(k);

  const model = b.model;
  if (model === undefined || model === null) throw new ApiError(400, 'you must provide a model parameter');
  if (typeof model !== 'string') throw typeError('model', 'a string', model);
  if (!chatModels.has(model)) {
    throw new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found');
  }
  const messages = validateMessages(b.messages);

  const stream = optBool(b, 'stream') ?? false;
  const so = optObject(b, 'stream_options');
  let includeUsage = false;
  if (so !== undefined) {
    if (!stream) {
      throw new ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
    }
    for (const k in so) if (!STREAM_OPTION_KEYS.has(k)) throw unrecognized(`stream_options.${k}`);
    const iu = so.include_usage;
    if (iu !== undefined && iu !== null && typeof iu !== 'boolean') throw typeError('stream_options.include_usage', 'a boolean', iu);
    includeUsage = iu === true;
    const io = so.include_obfuscation;
    if (io !== undefined && io !== null && typeof io !== 'boolean') throw typeError('stream_options.include_obfuscation', 'a boolean', io);
  }

  optNumber(b, 'temperature', 0, 2);
  optNumber(b, 'top_p', 0, 1);
  optNumber(b, 'presence_penalty', -2, 2);
  optNumber(b, 'frequency_penalty', -2, 2);
  const n = optInt(b, 'n', 1, 128) ?? 1;
  const maxTokens = optInt(b, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  const maxCompletion = optInt(b, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER);
  optInt(b, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const logprobs = optBool(b, 'logprobs');
  const topLogprobs = optInt(b, 'top_logprobs', 0, 20);
  if (topLogprobs !== undefined && logprobs !== true) {
    throw new ApiError(400, "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is specified.", 'top_logprobs', 'invalid_value');
  }
  optString(b, 'user');
  optBool(b, 'store');
  optBool(b, 'parallel_tool_calls');
  optString(b, 'reasoning_effort');
  optObject(b, 'prediction');
  optObject(b, 'audio');
  optObject(b, 'web_search_options');
  optArray(b, 'functions');
  const fc = b.function_call;
  if (fc !== undefined && fc !== null && typeof fc !== 'string' && !isObj(fc)) throw typeError('function_call', 'one of a string or object', fc);

  const tier = optString(b, 'service_tier');
  if (tier !== undefined && !SERVICE_TIER_SET.has(tier)) throw invalidValue('service_tier', tier, SERVICE_TIERS);

  const stop = b.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string') {
    if (!Array.isArray(stop)) throw typeError('stop', 'one of a string or array of strings', stop);
    if (stop.length > 4) throw new ApiError(400, `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${stop.length} instead.`, 'stop', 'array_above_max_length');
    for (let i = 0; i < stop.length; i++) if (typeof stop[i] !== 'string') throw typeError(`stop[${i}]`, 'a string', stop[i]);
  }

  const lb = optObject(b, 'logit_bias');
  if (lb !== undefined) {
    for (const k in lb) {
      const v = lb[k];
      if (typeof v !== 'number') throw typeError(`logit_bias.${k}`, 'a decimal', v);
      if (v < -100 || v > 100) throw new ApiError(400, `Invalid 'logit_bias': value for token ${k} must be between -100 and 100, but got ${v}.`, 'logit_bias', 'invalid_value');
    }
  }

  const md = optObject(b, 'metadata');
  if (md !== undefined) {
    const keys = Object.keys(md);
    if (keys.length > 16) throw new ApiError(400, `Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with ${keys.length} properties instead.`, 'metadata', 'object_above_max_properties');
    for (const k of keys) if (typeof md[k] !== 'string') throw typeError(`metadata.${k}`, 'a string', md[k]);
  }

  const modalities = optArray(b, 'modalities');
  if (modalities !== undefined) {
    for (let i = 0; i < modalities.length; i++) {
      const v = modalities[i];
      if (v !== 'text' && v !== 'audio') throw invalidValue(`modalities[${i}]`, v, ['text', 'audio']);
    }
  }

  // tools
  const toolNames: string[] = [];
  const tools = optArray(b, 'tools');
  if (tools !== undefined) {
    if (tools.length === 0) throw new ApiError(400, "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'tools', 'empty_array');
    for (let i = 0; i < tools.length; i++) {
      const t: unknown = tools[i];
      const tp = `tools[${i}]`;
      if (!isObj(t)) throw typeError(tp, 'an object', t);
      if (t.type === undefined) throw missing(`${tp}.type`);
      if (t.type === 'custom') {
        const c = t.custom;
        if (!isObj(c) || typeof c.name !== 'string') throw missing(`${tp}.custom.name`);
        toolNames.push(c.name);
        continue;
      }
      if (t.type !== 'function') throw invalidValue(`${tp}.type`, t.type, ['function', 'custom']);
      const fn = t.function;
      if (fn === undefined || fn === null) throw missing(`${tp}.function`);
      if (!isObj(fn)) throw typeError(`${tp}.function`, 'an object', fn);
      if (fn.name === undefined || fn.name === null) throw missing(`${tp}.function.name`);
      if (typeof fn.name !== 'string') throw typeError(`${tp}.function.name`, 'a string', fn.name);
      if (!TOOL_NAME_RE.test(fn.name)) {
        throw new ApiError(400, `Invalid '${tp}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, `${tp}.function.name`, 'invalid_value');
      }
      if (fn.parameters !== undefined && fn.parameters !== null && !isObj(fn.parameters)) throw typeError(`${tp}.function.parameters`, 'an object', fn.parameters);
      if (fn.description !== undefined && fn.description !== null && typeof fn.description !== 'string') throw typeError(`${tp}.function.description`, 'a string', fn.description);
      if (fn.strict !== undefined && fn.strict !== null && typeof fn.strict !== 'boolean') throw typeError(`${tp}.function.strict`, 'a boolean', fn.strict);
      toolNames.push(fn.name);
    }
  }
  let toolChoice: ChatRequest['toolChoice'];
  const tc = b.tool_choice;
  if (tc !== undefined && tc !== null) {
    if (typeof tc === 'string') {
      if (tc !== 'none' && tc !== 'auto' && tc !== 'required') throw invalidValue('tool_choice', tc, ['none', 'auto', 'required']);
      toolChoice = tc;
    } else if (isObj(tc)) {
      if (tc.type !== 'function') throw invalidValue('tool_choice.type', tc.type, ['function']);
      const fn = tc.function;
      if (!isObj(fn)) throw fn === undefined ? missing('tool_choice.function') : typeError('tool_choice.function', 'an object', fn);
      if (typeof fn.name !== 'string') throw fn.name === undefined ? missing('tool_choice.function.name') : typeError('tool_choice.function.name', 'a string', fn.name);
      toolChoice = { name: fn.name };
    } else {
      throw typeError('tool_choice', 'one of a string or object', tc);
    }
    if (tools === undefined && toolChoice !== 'none') {
      throw new ApiError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
    }
    if (typeof toolChoice === 'object' && !toolNames.includes(toolChoice.name)) {
      throw new ApiError(400, `Invalid value for 'tool_choice': tool '${toolChoice.name}' not found in 'tools'.`, 'tool_choice', 'invalid_value');
    }
  }

  // response_format
  let json = false;
  const rf = optObject(b, 'response_format');
  if (rf !== undefined) {
    const t = rf.type;
    if (t === undefined || t === null) throw missing('response_format.type');
    if (t === 'json_object') {
      json = true;
      let mentionsJson = false;
      for (const m of messages) if (/json/i.test(contentText(m.content))) { mentionsJson = true; break; }
      if (!mentionsJson) {
        throw new ApiError(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages');
      }
    } else if (t === 'json_schema') {
      json = true;
      const js = rf.json_schema;
      if (js === undefined || js === null) throw missing('response_format.json_schema');
      if (!isObj(js)) throw typeError('response_format.json_schema', 'an object', js);
      if (js.name === undefined || js.name === null) throw missing('response_format.json_schema.name');
      if (typeof js.name !== 'string') throw typeError('response_format.json_schema.name', 'a string', js.name);
      if (js.schema !== undefined && js.schema !== null && !isObj(js.schema)) throw typeError('response_format.json_schema.schema', 'an object', js.schema);
    } else if (t !== 'text') {
      throw invalidValue('response_format.type', t, ['text', 'json_object', 'json_schema']);
    }
  }

  return {
    model,
    messages,
    stream,
    includeUsage,
    n,
    maxTokens: maxCompletion ?? maxTokens,
    toolNames,
    toolChoice,
    json,
  };
}

// ───────────────────────────────────────────────────────────────── chat answers

interface ChatAnswer {
  kind: 'text' | 'tool';
  /** text pieces (kind text) or argument fragments (kind tool) */
  pieces: string[];
  content: string;
  finish: 'stop' | 'length' | 'tool_calls';
  toolName: string;
  promptTokens: number;
  completionTokensPerChoice: number;
}

function answerChat(r: ChatRequest): ChatAnswer {
  let promptTokens = 0;
  let lastUser = '';
  for (const m of r.messages) {
    promptTokens += 3 + countWords(contentText(m.content));
    if (Array.isArray(m.tool_calls)) {
      for (const c of m.tool_calls) {
        if (isObj(c) && isObj(c.function) && typeof c.function.arguments === 'string') promptTokens += countWords(c.function.arguments);
      }
    }
    if (m.role === 'user') lastUser = contentText(m.content);
  }
  const last = r.messages[r.messages.length - 1];
  const lastRole = last?.role;

  if (r.toolNames.length > 0 && r.toolChoice !== 'none' && lastRole === 'user') {
    const toolName = typeof r.toolChoice === 'object' ? r.toolChoice.name : (r.toolNames[0] ?? '');
    const args = JSON.stringify({ echo: lastUser });
    const pieces = splitFixed(args, 8);
    return { kind: 'tool', pieces, content: args, finish: 'tool_calls', toolName, promptTokens, completionTokensPerChoice: 1 + countWords(args) };
  }

  let content: string;
  if (lastRole === 'tool') {
    const t = contentText(last?.content);
    content = r.json ? JSON.stringify({ tool_result: t }) : `Tool result: ${t}`;
  } else {
    content = r.json ? JSON.stringify({ echo: lastUser }) : `Echo: ${lastUser}`;
  }
  let pieces = splitPieces(content);
  let finish: ChatAnswer['finish'] = 'stop';
  if (r.maxTokens !== undefined && pieces.length > r.maxTokens) {
    pieces = pieces.slice(0, r.maxTokens);
    content = pieces.join('');
    finish = 'length';
  }
  return { kind: 'text', pieces, content, finish, toolName: '', promptTokens, completionTokensPerChoice: pieces.length };
}

function usageJson(prompt: number, completion: number): string {
  return (
    `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},` +
    '"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},' +
    '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}'
  );
}

const FINGERPRINT = 'fp_tollgate_fake';

// ───────────────────────────────────────────────────────────────── embeddings

const EMBEDDING_FIELDS: ReadonlySet<string> = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user']);
const INPUT_INVALID = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";
const EMBEDDING_MAX_DIMS: Record<string, number> = { 'text-embedding-3-small': 1536, 'text-embedding-3-large': 3072 };

function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function embedVector(seedText: string, dims: number): Float32Array {
  let a = fnv1a(seedText);
  const v = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    // mulberry32
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 1;
  for (let i = 0; i < dims; i++) v[i] = (v[i] ?? 0) * inv;
  return v;
}

function embeddingsResponse(b: Json, models: ReadonlySet<string>, defaultDims: number): string {
  for (const k in b) if (!EMBEDDING_FIELDS.has(k)) throw unrecognized(k);
  const model = b.model;
  if (model === undefined || model === null) throw new ApiError(400, 'you must provide a model parameter');
  if (typeof model !== 'string') throw typeError('model', 'a string', model);
  if (!models.has(model)) throw new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found');

  const input = b.input;
  if (input === undefined || input === null) throw missing('input');
  // each item: [seed text, token count]
  const items: Array<[string, number]> = [];
  const isTokenArray = (a: unknown[]): boolean => a.length > 0 && a.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
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

  let tokens = 0;
  let data = '';
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (!it) continue;
    tokens += it[1];
    const vec = embedVector(it[0], dims);
    let emb: string;
    if (fmt === 'base64') {
      const buf = Buffer.allocUnsafe(dims * 4);
      for (let j = 0; j < dims; j++) buf.writeFloatLE(vec[j] ?? 0, j * 4);
      emb = `"${buf.toString('base64')}"`;
    } else {
      emb = JSON.stringify(Array.from(vec));
    }
    data += `${i === 0 ? '' : ','}{"object":"embedding","index":${i},"embedding":${emb}}`;
  }
  return `{"object":"list","data":[${data}],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`;
}

// ───────────────────────────────────────────────────────────────── faults

function parseFaultHeader(h: string): FakeFault[] {
  const faults: FakeFault[] = [];
  let status: { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string } | undefined;
  for (const seg of h.split(';')) {
    const s = seg.trim();
    if (s === '') continue;
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : s.slice(eq + 1).trim();
    const num = Number(val);
    const needNum = (): number => {
      if (val === '' || !Number.isFinite(num) || num < 0) throw new ApiError(400, `Invalid x-fake-fault header: '${s}' needs a non-negative number.`, 'x-fake-fault');
      return num;
    };
    switch (key) {
      case 'status':
        status = { kind: 'status', status: needNum() };
        if (status.status < 100 || status.status > 599) throw new ApiError(400, `Invalid x-fake-fault header: bad status '${val}'.`, 'x-fake-fault');
        break;
      case 'retry-after':
        if (!status) throw new ApiError(400, "Invalid x-fake-fault header: 'retry-after' must follow 'status='.", 'x-fake-fault');
        status.retryAfterSeconds = needNum();
        break;
      case 'message':
        if (!status) throw new ApiError(400, "Invalid x-fake-fault header: 'message' must follow 'status='.", 'x-fake-fault');
        status.message = val;
        break;
      case 'delay':
        faults.push({ kind: 'delay', ms: needNum() });
        break;
      case 'hang':
        faults.push({ kind: 'hang' });
        break;
      case 'reset':
        faults.push({ kind: 'reset' });
        break;
      case 'cut-stream':
        faults.push({ kind: 'cut-stream', afterChunks: Math.floor(needNum()) });
        break;
      default:
        throw new ApiError(400, `Invalid x-fake-fault header: unknown fault '${key}'.`, 'x-fake-fault');
    }
  }
  if (status) faults.push(status);
  return faults;
}

// ───────────────────────────────────────────────────────────────── server

const JSON_HEADERS = { 'content-type': 'application/json', 'openai-version': '2020-10-01' } as const;

function parseArgsFromCli(argv: string[]): FakeOpenAIOptions {
  const opts: FakeOpenAIOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--port' && v !== undefined) { opts.port = Number(v); i++; }
    else if (a === '--host' && v !== undefined) { opts.host = v; i++; }
    else if (a === '--api-key' && v !== undefined) { opts.apiKey = v; i++; }
    else if (a === '--chunk-delay-ms' && v !== undefined) { opts.chunkDelayMs = Number(v); i++; }
    else if (a === '--no-record') { opts.recordBodies = false; }
  }
  return opts;
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const host = opts.host ?? '127.0.0.1';
  const chatModels: ReadonlySet<string> = new Set(opts.models?.chat ?? DEFAULT_CHAT_MODELS);
  const embeddingModels: ReadonlySet<string> = new Set(opts.models?.embeddings ?? DEFAULT_EMBEDDING_MODELS);
  const defaultChunkDelay = opts.chunkDelayMs ?? 0;
  const record = opts.recordBodies ?? true;
  const defaultDims = opts.embeddingDimensions ?? 8;
  const expectedAuth = opts.apiKey !== undefined ? `Bearer ${opts.apiKey}` : undefined;

  const createdAt = 1_700_000_000;
  const allModels = [...chatModels, ...embeddingModels];
  const modelsListBody = JSON.stringify({
    object: 'list',
    data: allModels.map((id) => ({ id, object: 'model', created: createdAt, owned_by: 'openai' })),
  });
  const modelBodies = new Map<string, string>(
    allModels.map((id) => [id, JSON.stringify({ id, object: 'model', created: createdAt, owned_by: 'openai' })]),
  );

  const requests: RecordedRequest[] = [];
  let requestCount = 0;
  let idCounter = 0;
  let callCounter = 0;
  const faultQueue: Array<{ fault: FakeFault; remaining: number }> = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    if (res.destroyed) return;
    res.writeHead(status, {
      ...JSON_HEADERS,
      'x-request-id': `req_fake_${++idCounter}`,
      'content-length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(body);
  }
  function sendError(res: ServerResponse, e: ApiError, extra?: Record<string, string>): void {
    send(res, e.status, errorBody(e.message, e.type, e.param, e.code), extra);
  }

  function nextQueuedFault(): FakeFault | undefined {
    const head = faultQueue[0];
    if (!head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) faultQueue.shift();
    return head.fault;
  }

  async function writeStream(res: ServerResponse, frames: string[], delayMs: number, cutAfter: number | undefined): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'openai-version': '2020-10-01',
      'x-request-id': `req_fake_${++idCounter}`,
    });
    res.flushHeaders();
    const limit = cutAfter === undefined ? frames.length : Math.min(cutAfter, frames.length - 1);
    for (let i = 0; i < limit; i++) {
      if (i > 0) await (delayMs > 0 ? sleep(delayMs) : tick());
      if (res.destroyed || closed) return;
      res.write(frames[i]);
    }
    if (cutAfter !== undefined) {
      // let the written chunks leave before the socket dies
      await tick();
      res.socket?.destroy();
      res.destroy();
      return;
    }
    res.end();
  }

  function chatStreamFrames(r: ChatRequest, a: ChatAnswer): string[] {
    const id = `chatcmpl-fake${++idCounter}`;
    const created = Math.floor(Date.now() / 1000);
    const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(r.model)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[`;
    const tail = r.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
    const choice = (index: number, delta: string, finish: string | null): string =>
      `${head}{"index":${index},"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}${tail}`;
    const frames: string[] = [];
    if (a.kind === 'tool') {
      const callIds: string[] = [];
      for (let c = 0; c < r.n; c++) {
        const callId = `call_${++callCounter}`;
        callIds.push(callId);
        frames.push(choice(c, `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"${callId}","type":"function","function":{"name":${JSON.stringify(a.toolName)},"arguments":""}}],"refusal":null}`, null));
      }
      for (const p of a.pieces) {
        const frag = JSON.stringify(p);
        for (let c = 0; c < r.n; c++) frames.push(choice(c, `{"tool_calls":[{"index":0,"function":{"arguments":${frag}}}]}`, null));
      }
    } else {
      for (let c = 0; c < r.n; c++) frames.push(choice(c, '{"role":"assistant","content":"","refusal":null}', null));
      for (const p of a.pieces) {
        const delta = `{"content":${JSON.stringify(p)}}`;
        for (let c = 0; c < r.n; c++) frames.push(choice(c, delta, null));
      }
    }
    for (let c = 0; c < r.n; c++) frames.push(choice(c, '{}', a.finish));
    if (r.includeUsage) {
      frames.push(`${head}],"usage":${usageJson(a.promptTokens, a.completionTokensPerChoice * r.n)}}\n\n`);
    }
    frames.push('data: [DONE]\n\n');
    return frames;
  }

  function chatBody(r: ChatRequest, a: ChatAnswer): string {
    const id = `chatcmpl-fake${++idCounter}`;
    const created = Math.floor(Date.now() / 1000);
    let choices = '';
    for (let c = 0; c < r.n; c++) {
      let message: string;
      if (a.kind === 'tool') {
        message = `{"role":"assistant","content":null,"tool_calls":[{"id":"call_${++callCounter}","type":"function","function":{"name":${JSON.stringify(a.toolName)},"arguments":${JSON.stringify(a.content)}}}],"refusal":null,"annotations":[]}`;
      } else {
        message = `{"role":"assistant","content":${JSON.stringify(a.content)},"refusal":null,"annotations":[]}`;
      }
      choices += `${c === 0 ? '' : ','}{"index":${c},"message":${message},"logprobs":null,"finish_reason":"${a.finish}"}`;
    }
    return (
      `{"id":"${id}","object":"chat.completion","created":${created},"model":${JSON.stringify(r.model)},"choices":[${choices}],` +
      `"usage":${usageJson(a.promptTokens, a.completionTokensPerChoice * r.n)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}"}`
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);

    let body: unknown = null;
    let parseFailed = false;
    if (raw !== null && raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        parseFailed = true;
      }
    }
    if (record) requests.push({ method, path, headers: req.headers, body, receivedAt: Date.now() });

    // faults: the header wins over the queue
    let faults: FakeFault[];
    const fh = req.headers['x-fake-fault'];
    if (typeof fh === 'string') {
      try {
        faults = parseFaultHeader(fh);
      } catch (e) {
        if (e instanceof ApiError) return sendError(res, e);
        throw e;
      }
    } else {
      const f = nextQueuedFault();
      faults = f ? [f] : [];
    }
    let cutAfter: number | undefined;
    for (const f of faults) {
      switch (f.kind) {
        case 'delay':
          await sleep(f.ms);
          if (res.destroyed || closed) return;
          break;
        case 'hang':
          return; // never answer; close() or the client ends the socket
        case 'reset':
          req.socket.destroy();
          return;
        case 'status': {
          const extra: Record<string, string> = {};
          if (f.retryAfterSeconds !== undefined) extra['retry-after'] = String(f.retryAfterSeconds);
          return sendError(res, statusFaultError(f.status, f.message), extra);
        }
        case 'cut-stream':
          cutAfter = f.afterChunks;
          break;
      }
    }

    if (expectedAuth !== undefined) {
      const auth = req.headers.authorization;
      if (auth !== expectedAuth) {
        let msg = MISSING_KEY_MESSAGE;
        if (auth !== undefined && auth !== '') {
          const key = auth.startsWith('Bearer ') ? auth.slice(7) : auth;
          const masked = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 20))}${key.slice(-4)}` : key.replace(/./g, '*');
          msg = `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`;
        }
        return sendError(res, new ApiError(401, msg, null, 'invalid_api_key'));
      }
    }

    try {
      if (method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/embeddings')) {
        if (parseFailed || raw === null || raw.length === 0) throw new ApiError(400, PARSE_ERROR_MESSAGE);
        if (!isObj(body)) throw new ApiError(400, `Invalid type for request body: expected an object, but got ${describe(body)} instead.`, null, 'invalid_type');
        if (path === '/v1/embeddings') {
          const out = embeddingsResponse(body, embeddingModels, defaultDims);
          if (cutAfter !== undefined) return cutJson(res, out);
          return send(res, 200, out);
        }
        const r = validateChat(body, chatModels);
        const a = answerChat(r);
        if (r.stream) {
          const dh = req.headers['x-fake-chunk-delay-ms'];
          const delay = typeof dh === 'string' && dh !== '' && Number.isFinite(Number(dh)) ? Math.max(0, Number(dh)) : defaultChunkDelay;
          return await writeStream(res, chatStreamFrames(r, a), delay, cutAfter);
        }
        const out = chatBody(r, a);
        if (cutAfter !== undefined) return cutJson(res, out);
        return send(res, 200, out);
      }
      if (method === 'GET' && path === '/v1/models') return send(res, 200, modelsListBody);
      if (method === 'GET' && path.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        const m = modelBodies.get(id);
        if (m !== undefined) return send(res, 200, m);
        throw new ApiError(404, `The model '${id}' does not exist`, 'model', 'model_not_found');
      }
      throw new ApiError(404, `Invalid URL (${method} ${path})`);
    } catch (e) {
      if (e instanceof ApiError) return sendError(res, e);
      throw e;
    }
  }

  /** Non-streaming cut: announce the full length, send half the body, then kill the socket. */
  function cutJson(res: ServerResponse, out: string): void {
    const buf = Buffer.from(out);
    res.writeHead(200, { ...JSON_HEADERS, 'content-length': buf.length });
    res.write(buf.subarray(0, buf.length >> 1));
    setImmediate(() => {
      res.socket?.destroy();
      res.destroy();
    });
  }

  const server = http.createServer({ keepAlive: true, noDelay: true, keepAliveTimeout: 120_000 }, (req, res) => {
    requestCount++;
    let first: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    req.on('data', (c: Buffer) => {
      if (first === null) first = c;
      else (chunks ??= [first]).push(c);
    });
    req.on('end', () => {
      const raw = chunks !== null ? Buffer.concat(chunks) : first;
      handle(req, res, raw).catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) send(res, 500, errorBody(`Fake provider internal error: ${msg}`, 'server_error', null, null));
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    get requests() {
      return requests;
    },
    get requestCount() {
      return requestCount;
    },
    pushFault(f: FakeFault, times = 1) {
      if (times > 0) faultQueue.push({ fault: f, remaining: times });
    },
    clearFaults() {
      faultQueue.length = 0;
    },
    reset() {
      requests.length = 0;
      requestCount = 0;
      faultQueue.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

// ───────────────────────────────────────────────────────────────── CLI

if (import.meta.main) {
  const fake = await startFakeOpenAI(parseArgsFromCli(process.argv.slice(2)));
  process.stdout.write(`FAKE_OPENAI_URL=${fake.url}\n`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
