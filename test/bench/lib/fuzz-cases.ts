/**
 * Hostile-input generator and runner shared by `npm run bench:fuzz` (10,000+ requests, writes results/fuzz.json)
 * and the CI subset (test/e2e/fuzz.test.ts). Deterministic for a seed: the same seed gives the same requests.
 *
 * Every request goes through real Envoy + Tollgate to the strict fake provider, over raw HTTP/1.1 (node:http), so
 * odd methods, invalid bytes and header floods reach the gateway exactly as generated.
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { seededRandom } from '../../helpers/seeded-random.ts';

/** Seeded random numbers (test/helpers/seeded-random.ts), under the name the fuzz cases use. */
export const rng = seededRandom;

export const CATEGORIES = [
  'valid', 'wrong_types', 'deep_nesting', 'huge_values', 'invalid_utf8', 'duplicate_keys',
  'content_types', 'compressed', 'methods_paths', 'header_flood',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface FuzzCase {
  category: Category;
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}


class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  word(): string {
    return this.pick(['hi', 'hello', 'xin chào', 'tell me a joke', '🙂 emoji', 'naïve café', '<script>', 'null', '']);
  }
}

const CHAT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'fast-chat'];

function validChat(g: Gen): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: g.pick(CHAT_MODELS),
    messages: [
      ...(g.chance(0.3) ? [{ role: 'system', content: 'Be brief.' }] : []),
      { role: 'user', content: g.chance(0.2) ? [{ type: 'text', text: g.word() || 'x' }] : (g.word() || 'x') },
    ],
  };
  if (g.chance(0.3)) body.temperature = g.int(0, 20) / 10;
  if (g.chance(0.3)) body.max_tokens = g.int(1, 200);
  if (g.chance(0.2)) body.stream = true;
  if (g.chance(0.1)) body.user = 'u-1';
  return body;
}

function validEmbeddings(g: Gen): Record<string, unknown> {
  return { model: 'text-embedding-3-small', input: g.chance(0.5) ? g.word() || 'x' : ['a', 'b'] };
}

/** A value of a random JSON type (possibly nested a little), unlikely to be what a field expects. */
function wrongValue(g: Gen): unknown {
  switch (g.int(0, 11)) {
    case 0: return null;
    case 1: return g.chance(0.5);
    case 2: return g.int(-1e6, 1e6);
    case 3: return g.next() * 1e12 - 5e11;
    case 4: return g.word();
    case 5: return [];
    case 6: return {};
    case 7: return [g.word(), 1, null];
    case 8: return { role: 'user', content: 7 };
    case 9: return -0.0000001;
    case 10: return 'x'.repeat(g.int(1000, 5000));
    default: return [[[{}]]];
  }
}

const CHAT_FIELDS = [
  'model', 'messages', 'temperature', 'top_p', 'n', 'stream', 'stream_options', 'stop', 'max_tokens',
  'max_completion_tokens', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs',
  'user', 'seed', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'metadata', 'store',
  'reasoning_effort', 'modalities', 'service_tier', 'prediction', 'audio', 'unknown_field',
];
const MESSAGE_FIELDS = ['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'function_call'];
const EMBEDDING_FIELDS = ['model', 'input', 'dimensions', 'encoding_format', 'user'];

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const JSON_HEADERS = { 'content-type': 'application/json' };

function wrongTypes(g: Gen): FuzzCase {
  if (g.chance(0.25)) {
    const body = validEmbeddings(g);
    const field = g.pick(EMBEDDING_FIELDS);
    body[field] = wrongValue(g);
    return { category: 'wrong_types', label: `embeddings.${field}`, method: 'POST', path: '/v1/embeddings', headers: JSON_HEADERS, body: json(body) };
  }
  const body = validChat(g);
  let label: string;
  if (g.chance(0.4)) {
    const messages = body.messages as Array<Record<string, unknown>>;
    const message = messages[messages.length - 1] as Record<string, unknown>;
    const field = g.pick(MESSAGE_FIELDS);
    message[field] = wrongValue(g);
    if (g.chance(0.2)) messages.push(wrongValue(g) as Record<string, unknown>);
    label = `messages[].${field}`;
  } else {
    const field = g.pick(CHAT_FIELDS);
    body[field] = wrongValue(g);
    label = field;
  }
  return { category: 'wrong_types', label, method: 'POST', path: '/v1/chat/completions', headers: JSON_HEADERS, body: json(body) };
}

function nested(g: Gen, depth: number): string {
  const open = g.chance(0.5) ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return open.repeat(depth) + (g.chance(0.5) ? '1' : '"x"') + close.repeat(depth);
}

function deepNesting(g: Gen): FuzzCase {
  const depth = g.pick([65, 100, 1000, 10_000, 50_000, g.int(2, 200), g.int(100, 100_000)]);
  const where = g.pick(['metadata', 'messages', 'content', 'tools', 'response_format', 'input', 'top']);
  let text: string;
  if (where === 'top') text = nested(g, depth);
  else if (where === 'content') text = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":${nested(g, depth)}}]}`;
  else if (where === 'input') text = `{"model":"text-embedding-3-small","input":${nested(g, depth)}}`;
  else if (where === 'messages') text = `{"model":"gpt-4o-mini","messages":${nested(g, depth)}}`;
  else text = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"${where}":${nested(g, depth)}}`;
  const path = where === 'input' ? '/v1/embeddings' : '/v1/chat/completions';
  return { category: 'deep_nesting', label: `${where}@${depth}`, method: 'POST', path, headers: JSON_HEADERS, body: Buffer.from(text) };
}

function hugeValues(g: Gen): FuzzCase {
  const kind = g.pick(['number', 'string', 'array', 'keys', 'bigint', 'many_messages']);
  const body = validChat(g);
  let path = '/v1/chat/completions';
  let text: string | null = null;
  switch (kind) {
    case 'number': {
      const value = g.pick(['1e308', '-1e308', '1e400', '123456789012345678901234567890', '-0', '0.0000000000000000000001', '9007199254740993']);
      const field = g.pick(['temperature', 'max_tokens', 'n', 'seed', 'top_p', 'top_logprobs', 'dimensions']);
      text = JSON.stringify(body).replace(/}$/, `,"${field}":${value}}`);
      break;
    }
    case 'string': {
      const size = g.pick([10_000, 100_000, 1_000_000, 3_000_000]);
      const unit = g.pick(['a', 'word ', '漢字', '🙂', 'x\\n']);
      const big = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
      const field = g.pick(['content', 'model', 'user', 'stop']);
      if (field === 'content') (body.messages as Array<Record<string, unknown>>).push({ role: 'user', content: big });
      else body[field] = big;
      break;
    }
    case 'array':
      if (g.chance(0.5)) {
        path = '/v1/embeddings';
        text = JSON.stringify({ model: 'text-embedding-3-small', input: Array.from({ length: g.pick([2048, 2049, 50_000, 200_000]) }, () => 1) });
      } else {
        body.stop = Array.from({ length: g.int(5, 5000) }, () => 'x');
      }
      break;
    case 'keys':
      body.metadata = Object.fromEntries(Array.from({ length: g.pick([16, 17, 1000, 120_000]) }, (_, i) => [`k${i}`, 'v']));
      break;
    case 'bigint':
      body.logit_bias = { '50256': g.pick([-100, 100, 101, 1e300]) };
      break;
    default:
      body.messages = Array.from({ length: g.pick([100, 2049, 20_000]) }, () => ({ role: 'user', content: 'hi' }));
  }
  return { category: 'huge_values', label: kind, method: 'POST', path, headers: JSON_HEADERS, body: text === null ? json(body) : Buffer.from(text) };
}

function invalidUtf8(g: Gen): FuzzCase {
  const prefix = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"');
  const suffix = Buffer.from('"}]}');
  const kind = g.pick(['bytes', 'lone_high', 'lone_low', 'raw_surrogate', 'overlong', 'truncated', 'bom', 'nul']);
  let middle: Buffer;
  switch (kind) {
    case 'bytes': middle = Buffer.from(Array.from({ length: g.int(1, 20) }, () => g.int(0x80, 0xff))); break;
    case 'lone_high': middle = Buffer.from('abc\\ud83d def'); break;
    case 'lone_low': middle = Buffer.from('\\udc00'); break;
    case 'raw_surrogate': middle = Buffer.from([0xed, 0xa0, 0x80]); break;
    case 'overlong': middle = Buffer.from([0xc0, 0xaf]); break;
    case 'truncated': middle = Buffer.from([0xe2, 0x82]); break;
    case 'bom': return { category: 'invalid_utf8', label: kind, method: 'POST', path: '/v1/chat/completions', headers: JSON_HEADERS, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), prefix, Buffer.from('hi'), suffix]) };
    default: middle = Buffer.from('a\\u0000b'); break;
  }
  const inModel = g.chance(0.2);
  const body = inModel
    ? Buffer.concat([Buffer.from('{"model":"gpt-4o-mini'), middle, Buffer.from('","messages":[{"role":"user","content":"hi"}]}')])
    : Buffer.concat([prefix, middle, suffix]);
  return { category: 'invalid_utf8', label: `${kind}${inModel ? '@model' : ''}`, method: 'POST', path: '/v1/chat/completions', headers: JSON_HEADERS, body };
}

function duplicateKeys(g: Gen): FuzzCase {
  const variants = [
    '{"model":"gpt-4o-mini","model":"gpt-9","messages":[{"role":"user","content":"hi"}]}',
    '{"model":"gpt-9","model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"messages":"x"}',
    '{"model":"gpt-4o-mini","messages":[{"role":"user","role":"robot","content":"hi"}]}',
    '{"model":"gpt-4o-mini","stream":true,"stream":false,"messages":[{"role":"user","content":"hi"}]}',
    '{"model":"gpt-4o-mini","max_tokens":5,"max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}',
    '{"model":"text-embedding-3-small","input":"a","input":["b"]}',
    '{"__proto__":{"x":1},"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    '{"constructor":{"prototype":{"polluted":1}},"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
  ];
  const text = g.pick(variants);
  const label = text.startsWith('{"__proto__"') ? 'duplicate-keys:__proto__' : text.startsWith('{"constructor"') ? 'duplicate-keys:constructor' : String(variants.indexOf(text));
  return { category: 'duplicate_keys', label, method: 'POST', path: text.includes('embedding') ? '/v1/embeddings' : '/v1/chat/completions', headers: JSON_HEADERS, body: Buffer.from(text) };
}

function contentTypes(g: Gen): FuzzCase {
  const type = g.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '', 'application/json; charset=latin1', 'application/json; charset=utf-16', '*/*', 'application/octet-stream']);
  const bodies = [json(validChat(g)), Buffer.from('model=gpt-4o-mini&messages=hi'), Buffer.from('--x\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-mini\r\n--x--'), Buffer.from('<xml/>'), Buffer.from([0xff, 0xfe, 0x7b, 0x00])];
  const body = g.pick(bodies);
  const headers: Record<string, string> = type ? { 'content-type': type } : {};
  return { category: 'content_types', label: type || '(none)', method: 'POST', path: '/v1/chat/completions', headers, body };
}

function compressed(g: Gen): FuzzCase {
  const encoding = g.pick(['gzip', 'gzip', 'deflate', 'br', 'identity', 'gzip, gzip', 'x-unknown']);
  const plain = json(g.chance(0.8) ? validChat(g) : validEmbeddings(g));
  const body = encoding.startsWith('gzip') ? gzipSync(plain) : g.chance(0.5) ? plain : Buffer.from(Array.from({ length: 40 }, () => g.int(0, 255)));
  const path = plain.includes('embedding') ? '/v1/embeddings' : '/v1/chat/completions';
  return { category: 'compressed', label: encoding, method: 'POST', path, headers: { ...JSON_HEADERS, 'content-encoding': encoding }, body };
}

function methodsPaths(g: Gen): FuzzCase {
  const method = g.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'TRACE', 'FOO', 'PROPFIND', 'QUERY', 'M-SEARCH']);
  const path = g.pick([
    '/v1/chat/completions', '/v1/chat/completions/', '/v1//chat//completions', '/v1/embeddings', '/v1/models',
    '/v1/models/gpt-4o-mini', '/v1/models/%zz', '/v1/models/%E0%A4%A', '/v1/models/..%2F..%2Fetc%2Fpasswd',
    '/v1/../v1/chat/completions', '/v1/chat/completions?x=1&x=2', '/v1/chat/%63ompletions', '/', '/v2/chat/completions',
    '/v1/chat/completions%00', `/v1/${'a'.repeat(g.int(100, 8000))}`, '/v1/chat/completions#frag', '/V1/CHAT/COMPLETIONS',
    '/v1/completions', '/v1/files', '/admin/v1/keys', '/healthz', '/v1/models/' + '%41'.repeat(300),
  ]);
  const withBody = g.chance(0.6);
  return {
    category: 'methods_paths', label: `${method} ${path.slice(0, 40)}`, method, path,
    headers: withBody ? JSON_HEADERS : {}, body: withBody ? json(validChat(g)) : null,
  };
}

function headerFlood(g: Gen): FuzzCase {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  const kind = g.pick(['many', 'long', 'tollgate', 'envoy', 'auth']);
  let label: string = kind;
  if (kind === 'many') {
    const count = g.pick([50, 90, 99, 101, 150, 500]);
    for (let i = 0; i < count; i++) headers[`x-flood-${i}`] = 'v'.repeat(g.int(1, 100));
    label = `many@${count}`;
  } else if (kind === 'long') {
    const size = g.pick([1000, 8000, 30_000, 59_000, 70_000, 100_000]);
    headers['x-long'] = 'v'.repeat(size);
    label = `long@${size}`;
  } else if (kind === 'tollgate') {
    Object.assign(headers, { 'x-tollgate-route': g.pick(['provider_openai', 'no_route', 'x']), 'x-tollgate-user': 'u', 'x-tollgate-feature': 'f', 'x-request-id': 'fixed-id', 'x-tollgate-request-id': 'x' });
  } else if (kind === 'envoy') {
    Object.assign(headers, { 'x-envoy-upstream-rq-timeout-ms': '1', 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '100', 'x-forwarded-for': '1.1.1.1', 'x-envoy-original-path': '/admin', 'x-envoy-force-trace': '1' });
  } else {
    headers.authorization = g.pick(['Bearer ', 'Bearer  x', 'bearer x', `Bearer ${'k'.repeat(10_000)}`, 'Basic Zm9vOmJhcg==', 'Bearer \u00ff']);
    label = 'auth';
  }
  return { category: 'header_flood', label, method: 'POST', path: '/v1/chat/completions', headers, body: json(validChat(g)) };
}

function valid(g: Gen): FuzzCase {
  if (g.chance(0.2)) return { category: 'valid', label: 'embeddings', method: 'POST', path: '/v1/embeddings', headers: JSON_HEADERS, body: json(validEmbeddings(g)) };
  if (g.chance(0.1)) return { category: 'valid', label: 'models', method: 'GET', path: '/v1/models', headers: {}, body: null };
  return { category: 'valid', label: 'chat', method: 'POST', path: '/v1/chat/completions', headers: JSON_HEADERS, body: json(validChat(g)) };
}

const GENERATORS: Record<Category, (g: Gen) => FuzzCase> = {
  valid, wrong_types: wrongTypes, deep_nesting: deepNesting, huge_values: hugeValues, invalid_utf8: invalidUtf8,
  duplicate_keys: duplicateKeys, content_types: contentTypes, compressed, methods_paths: methodsPaths, header_flood: headerFlood,
};
/** Relative frequency of each category. */
const WEIGHTS: Record<Category, number> = {
  valid: 10, wrong_types: 30, deep_nesting: 8, huge_values: 8, invalid_utf8: 8, duplicate_keys: 5,
  content_types: 6, compressed: 6, methods_paths: 10, header_flood: 9,
};

/** `count` cases for `seed`: a fixed sequence. */
export function* fuzzCases(seed: number, count: number): Generator<FuzzCase> {
  const g = new Gen(seed);
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  for (let i = 0; i < count; i++) {
    let roll = g.next() * total;
    let category: Category = 'valid';
    for (const c of CATEGORIES) {
      roll -= WEIGHTS[c];
      if (roll < 0) {
        category = c;
        break;
      }
    }
    yield GENERATORS[category](g);
  }
}

export interface FuzzAnswer {
  status: number;
  /** 0 when the connection failed (reset, refused): a crash sign. */
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  error?: string;
}

/** Sends one case over raw HTTP/1.1 (one connection each, so a bad one cannot spoil the next). */
export function send(baseOrigin: string, key: string, c: FuzzCase, timeoutMs = 15_000): Promise<FuzzAnswer> {
  const url = new URL(baseOrigin);
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...c.headers };
  if (c.body) headers['content-length'] = String(c.body.length);
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, method: c.method, path: c.path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers, error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: Buffer.alloc(0), headers: {}, error: error.message }));
    if (c.body) req.end(c.body);
    else req.end();
  });
}

/** Whether a body is an OpenAI error: exactly {error: {message, type, code, param}} with a string message and type. */
export function isOpenAIError(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: Record<string, unknown> };
    const error = parsed.error;
    if (!error || typeof error !== 'object') return false;
    return Object.keys(error).sort().join(',') === 'code,message,param,type' && typeof error.message === 'string' && typeof error.type === 'string';
  } catch {
    return false;
  }
}

export interface Violation {
  category: Category;
  label: string;
  method: string;
  path: string;
  status: number;
  problem: string;
  excerpt: string;
}

export interface FuzzTally {
  total: number;
  byCategory: Record<string, { sent: number; statuses: Record<string, number> }>;
  statusHistogram: Record<string, number>;
  providerCalls: number;
  /** Requests that reached the provider and were refused by it (invalid input let through). */
  providerRejected: number;
  violations: Violation[];
}

/** What the fake provider saw, to tell whether a request reached it. */
export interface ProviderView {
  requestCount: number;
}

/**
 * Sends every case in order and checks each answer: a 4xx in OpenAI shape (HEAD: no body), or a 2xx that the
 * provider accepted; never a 5xx, a dropped connection, or an invalid request reaching the provider.
 */
export async function runFuzz(baseOrigin: string, key: string, cases: Iterable<FuzzCase>, provider: ProviderView, onProgress?: (done: number) => void): Promise<FuzzTally> {
  const tally: FuzzTally = { total: 0, byCategory: {}, statusHistogram: {}, providerCalls: 0, providerRejected: 0, violations: [] };
  for (const c of cases) {
    const before = provider.requestCount;
    const answer = await send(baseOrigin, key, c);
    const reached = provider.requestCount - before;
    tally.total += 1;
    tally.providerCalls += reached;
    const status = String(answer.status);
    tally.statusHistogram[status] = (tally.statusHistogram[status] ?? 0) + 1;
    const entry = (tally.byCategory[c.category] ??= { sent: 0, statuses: {} });
    entry.sent += 1;
    entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
    const problem = judge(c, answer, reached);
    if (problem === 'provider rejected it') tally.providerRejected += 1;
    if (problem) {
      tally.violations.push({
        category: c.category, label: c.label, method: c.method, path: c.path.slice(0, 80), status: answer.status, problem,
        excerpt: (answer.error ?? answer.body.toString('utf8')).slice(0, 300),
      });
    }
    if (onProgress && tally.total % 500 === 0) onProgress(tally.total);
  }
  return tally;
}

/** Cases whose only fault is a top-level parameter Tollgate does not know (see src/stages/request-schemas.ts). */
const UNKNOWN_PARAMETER_CASES = new Set(['unknown_field', 'duplicate-keys:__proto__', 'duplicate-keys:constructor']);

function judge(c: FuzzCase, answer: FuzzAnswer, reached: number): string | null {
  // Envoy may reset a connection that is still sending a header flood after it answered 431 (HTTP/1 codec error).
  if (answer.status === 0 && c.category === 'header_flood') return 'KNOWN: header flood, connection reset by Envoy';
  if (answer.status === 0) return `no answer (${answer.error ?? 'connection failed'})`;
  // Envoy closes the connection after answering a request it cannot parse (too many or too large headers): the
  // answer is complete when its body is a whole OpenAI error.
  // Known, open: Envoy answers too many or too large request headers with 431 and closes the connection before
  // the body is read (HTTP/1 codec error). Counted apart so it stays visible; not a Tollgate 5xx or crash.
  if (answer.error && answer.status === 431) return 'KNOWN: 431 header overflow, connection closed by Envoy';
  if (answer.error && !(answer.status >= 400 && answer.status < 500 && isOpenAIError(answer.body))) return `answer cut (${answer.error})`;
  if (answer.status >= 500) return `server error ${answer.status}`;
  if (answer.status >= 200 && answer.status < 300) {
    // A success must be something a strict provider accepted (or a listing Tollgate answers itself).
    if (c.method === 'GET' && c.path.startsWith('/v1/models')) return null;
    // An exact cache hit answers a request the provider already accepted once (the same valid body, sent again).
    if (answer.headers['x-tollgate-cache'] === 'hit') return null;
    return reached > 0 ? null : 'success without the provider';
  }
  if (answer.status >= 400 && answer.status < 500) {
    // Unknown top-level parameters pass through by design (new OpenAI parameters keep working; the provider judges).
    if (reached > 0 && UNKNOWN_PARAMETER_CASES.has(c.label)) return null;
    if (reached > 0) return 'provider rejected it';
    if (c.method === 'HEAD') return null;
    return isOpenAIError(answer.body) ? null : 'error not in OpenAI shape';
  }
  return `unexpected status ${answer.status}`;
}
