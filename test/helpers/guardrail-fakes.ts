/**
 * Strict fakes of the guardrail services Tollgate calls: a Presidio analyzer, Llama Guard behind an OpenAI-compatible
 * chat endpoint, and Azure AI Content Safety. Each rejects what the real one would (wrong path or method, missing
 * auth, unknown or ill-typed fields) and answers in its real shape. Deterministic detection from trigger words, so a
 * test knows the verdict it asks for.
 *
 * Fault injection: `fake.fault = { delayMs }` answers late (a timeout for the gateway), `{ status }` fails with that
 * status; `fake.fault = null` heals it. `fake.calls` counts the requests that reached the detection logic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface GuardrailFault {
  delayMs?: number;
  status?: number;
}

export interface FakeGuardrail {
  url: string;
  /** Requests that passed validation. */
  calls: number;
  /** Bodies of the validated requests, oldest first. */
  bodies: unknown[];
  fault: GuardrailFault | null;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, url: URL, body: unknown) => { status: number; body: unknown };

class Reject extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(`rejected with ${status}`);
    this.status = status;
    this.body = body;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyFields(body: Record<string, unknown>, allowed: string[], fail: (message: string) => never): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) fail(`unknown field ${key}`);
}

async function serve(handler: Handler): Promise<FakeGuardrail> {
  const sockets = new Set<import('node:net').Socket>();
  const fake: FakeGuardrail = { url: '', calls: 0, bodies: [], fault: null, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      let parsed: unknown;
      const send = (status: number, body: unknown) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      try {
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          throw new Reject(400, { error: 'body is not JSON' });
        }
        if (req.headers['content-type']?.split(';')[0] !== 'application/json') throw new Reject(415, { error: 'content-type must be application/json' });
        const answer = handler(req, url, parsed);
        fake.calls += 1;
        fake.bodies.push(parsed);
        const fault = fake.fault;
        const reply = () => (fault?.status ? send(fault.status, { error: 'injected fault' }) : send(answer.status, answer.body));
        if (fault?.delayMs) setTimeout(reply, fault.delayMs);
        else reply();
      } catch (error) {
        if (error instanceof Reject) send(error.status, error.body);
        else send(500, { error: String(error) });
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  fake.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  fake.close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return fake;
}

/** Code-point offsets of a JavaScript match, as Python (Presidio) reports them. */
const codePoints = (text: string, unitIndex: number) => [...text.slice(0, unitIndex)].length;

/** Presidio entities the fake recognises (a tiny stand-in for its regexes and NER). */
const PRESIDIO_PATTERNS: Array<[string, RegExp, number]> = [
  ['EMAIL_ADDRESS', /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, 1.0],
  ['US_SSN', /\b\d{3}-\d{2}-\d{4}\b/g, 0.85],
  ['PERSON', /\b(?:Nguyen Van An|Tran Thi Binh|John Smith|Maria Garcia)\b/g, 0.85],
  ['LOCATION', /\b(?:Hanoi|Da Nang|Springfield)\b/g, 0.85],
  ['DATE_TIME', /\b(?:tomorrow|yesterday)\b/g, 0.85],
  ['NRP', /\bVietnamese\b/g, 0.3],
];

export async function startFakePresidio(options: { apiKey?: string } = {}): Promise<FakeGuardrail> {
  return serve((req, url, body) => {
    const fail = (message: string): never => {
      throw new Reject(400, { error: message });
    };
    if (req.method !== 'POST' || url.pathname !== '/analyze') throw new Reject(404, { error: 'not found' });
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) throw new Reject(401, { error: 'unauthorized' });
    if (!isObj(body)) fail('body must be an object');
    const b = body as Record<string, unknown>;
    onlyFields(b, ['text', 'language', 'entities', 'score_threshold', 'correlation_id', 'return_decision_process', 'ad_hoc_recognizers', 'context', 'allow_list'], fail);
    if (typeof b.text !== 'string') fail('text must be a string');
    if (b.language !== 'en') fail(`No matching recognizers were found to serve the request for language ${String(b.language)}`);
    if (b.entities !== undefined && (!Array.isArray(b.entities) || !b.entities.every((e) => typeof e === 'string'))) fail('entities must be a list of strings');
    if (b.score_threshold !== undefined && (typeof b.score_threshold !== 'number' || b.score_threshold < 0 || b.score_threshold > 1)) fail('score_threshold must be between 0 and 1');
    const text = b.text as string;
    const threshold = (b.score_threshold as number | undefined) ?? 0;
    const wanted = b.entities as string[] | undefined;
    const results: Array<{ entity_type: string; start: number; end: number; score: number; analysis_explanation: null; recognition_metadata: object }> = [];
    for (const [entity, pattern, score] of PRESIDIO_PATTERNS) {
      if ((wanted && !wanted.includes(entity)) || score < threshold) continue;
      for (const match of text.matchAll(pattern)) {
        const start = codePoints(text, match.index);
        results.push({
          entity_type: entity, start, end: start + [...match[0]].length, score, analysis_explanation: null,
          recognition_metadata: { recognizer_name: 'FakeRecognizer', recognizer_identifier: 'fake-1' },
        });
      }
    }
    return { status: 200, body: results };
  });
}

/** Trigger words → MLCommons hazard categories. */
const HAZARDS: Array<[RegExp, string]> = [
  [/\bbomb\b/i, 'S9'],
  [/\bkill\b/i, 'S1'],
  [/\bslur\b/i, 'S10'],
];

export async function startFakeLlamaGuard(options: { apiKey: string; model: string }): Promise<FakeGuardrail> {
  return serve((req, url, body) => {
    const fail = (message: string): never => {
      throw new Reject(400, { error: { message, type: 'invalid_request_error', param: null, code: null } });
    };
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') throw new Reject(404, { error: { message: 'Not Found', type: 'invalid_request_error' } });
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) throw new Reject(401, { error: { message: 'Incorrect API key', type: 'invalid_request_error', code: 'invalid_api_key' } });
    if (!isObj(body)) fail('body must be an object');
    const b = body as Record<string, unknown>;
    onlyFields(b, ['model', 'messages', 'temperature', 'max_tokens', 'max_completion_tokens', 'top_p', 'seed'], fail);
    if (b.model !== options.model) throw new Reject(404, { error: { message: `The model \`${String(b.model)}\` does not exist.`, type: 'NotFoundError', code: 404 } });
    const messages = b.messages;
    if (!Array.isArray(messages) || messages.length === 0) fail('messages must be a non-empty list');
    // Llama Guard's chat template: user and assistant turns only, alternating, starting with the user.
    (messages as unknown[]).forEach((m, i) => {
      if (!isObj(m) || typeof m.content !== 'string') fail(`messages[${i}] must have string content`);
      const expected = i % 2 === 0 ? 'user' : 'assistant';
      if ((m as { role?: unknown }).role !== expected) fail('Conversation roles must alternate user/assistant/user/assistant/...');
    });
    const last = (messages as Array<{ content: string }>).at(-1)!.content;
    const categories = HAZARDS.filter(([pattern]) => pattern.test(last)).map(([, c]) => c);
    const content = categories.length ? `unsafe\n${categories.join(',')}` : 'safe';
    return {
      status: 200,
      body: {
        id: `chatcmpl-guard-${Date.now()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: options.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 200, completion_tokens: 3, total_tokens: 203 },
      },
    };
  });
}

const AZURE_CATEGORIES = ['Hate', 'SelfHarm', 'Sexual', 'Violence'];
/** Trigger words → (category, severity). */
const HARMS: Array<[RegExp, string, number]> = [
  [/\bdespise them all\b/i, 'Hate', 4],
  [/\bslur\b/i, 'Hate', 6],
  [/\bmildly rude\b/i, 'Hate', 2],
  [/\bhurt myself\b/i, 'SelfHarm', 4],
  [/\bfight\b/i, 'Violence', 2],
];

export async function startFakeContentSafety(options: { apiKey: string }): Promise<FakeGuardrail> {
  return serve((req, url, body) => {
    const fail = (message: string): never => {
      throw new Reject(400, { error: { code: 'InvalidRequestBody', message } });
    };
    if (req.method !== 'POST' || url.pathname !== '/contentsafety/text:analyze') throw new Reject(404, { error: { code: '404', message: 'Resource not found' } });
    if (url.searchParams.get('api-version') !== '2024-09-01') throw new Reject(404, { error: { code: 'ApiVersionUnsupported', message: 'The HTTP resource that matches the request URI does not support the API version' } });
    if (req.headers['ocp-apim-subscription-key'] !== options.apiKey) {
      throw new Reject(401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' } });
    }
    if (!isObj(body)) fail('body must be an object');
    const b = body as Record<string, unknown>;
    onlyFields(b, ['text', 'categories', 'blocklistNames', 'haltOnBlocklistHit', 'outputType'], fail);
    if (typeof b.text !== 'string' || b.text.length === 0) fail('text must be a non-empty string');
    if ((b.text as string).length > 10_000) fail('text exceeds the maximum length of 10000 characters');
    if (b.categories !== undefined && (!Array.isArray(b.categories) || !b.categories.every((c) => AZURE_CATEGORIES.includes(c as string)))) fail('invalid categories');
    if (b.outputType !== undefined && b.outputType !== 'FourSeverityLevels' && b.outputType !== 'EightSeverityLevels') fail('invalid outputType');
    const text = b.text as string;
    const categories = (b.categories as string[] | undefined) ?? AZURE_CATEGORIES;
    const categoriesAnalysis = categories.map((category) => ({
      category,
      severity: Math.max(0, ...HARMS.filter(([pattern, c]) => c === category && pattern.test(text)).map(([, , s]) => s)),
    }));
    return { status: 200, body: { blocklistsMatch: [], categoriesAnalysis } };
  });
}
