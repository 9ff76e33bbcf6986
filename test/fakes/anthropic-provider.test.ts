import { spawn } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpsRequest } from '../helpers/https-request.ts';
import { createTestCaWithServer } from '../helpers/test-ca.ts';
import { startFakeAnthropic } from './anthropic-provider.ts';
import type { FakeAnthropic } from './anthropic-provider.ts';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const HEADERS = { 'x-api-key': 'sk-ant-any', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const MODEL = 'claude-haiku-4-5';
const hi = [{ role: 'user', content: 'hi' }];

interface ErrorJson {
  type: string;
  error: { type: string; message: string };
  request_id: string;
}

async function post(body: unknown, headers: Record<string, string | undefined> = {}, target = fake, path = '/v1/messages'): Promise<{ status: number; text: string; headers: Headers }> {
  const merged = Object.fromEntries(Object.entries({ ...HEADERS, ...headers }).filter((e): e is [string, string] => e[1] !== undefined));
  const res = await fetch(`${target.url}${path}`, { method: 'POST', headers: merged, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function message(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await post({ model: MODEL, max_tokens: 100, ...body });
  expect(r.status, r.text).toBe(200);
  return JSON.parse(r.text) as Record<string, unknown>;
}

async function rejected(body: unknown, headers: Record<string, string | undefined> = {}): Promise<{ status: number; error: ErrorJson['error'] }> {
  const r = await post(body, headers);
  expect(r.status).not.toBe(200);
  const json = JSON.parse(r.text) as ErrorJson;
  expect(json.type).toBe('error');
  expect(json.request_id).toMatch(/^req_/);
  return { status: r.status, error: json.error };
}

/** Splits an Anthropic SSE text into [event name, data] pairs, checking the framing on the way. */
function events(text: string): Array<[string, Record<string, unknown>]> {
  return text.split('\n\n').filter((e) => e !== '').map((e) => {
    const [eventLine, dataLine, ...rest] = e.split('\n');
    expect(rest).toEqual([]);
    expect(eventLine).toMatch(/^event: [a-z_]+$/);
    expect(dataLine).toMatch(/^data: \{/);
    const data = JSON.parse((dataLine ?? '').slice(6)) as Record<string, unknown>;
    const name = (eventLine ?? '').slice(7);
    expect(data.type).toBe(name);
    return [name, data];
  });
}

describe('fake Anthropic: count_tokens', () => {
  const count = (body: unknown, headers: Record<string, string | undefined> = {}) => post(body, headers, fake, '/v1/messages/count_tokens');

  it('answers input_tokens equal to what a message with the same prompt reports as its input', async () => {
    const prompt = { model: MODEL, system: 'be brief', messages: [{ role: 'user', content: 'hello there world' }] };
    const counted = await count(prompt);
    expect(counted.status, counted.text).toBe(200);
    expect(JSON.parse(counted.text)).toEqual({ input_tokens: 8 });
    const m = await message(prompt);
    expect((m.usage as { input_tokens: number }).input_tokens).toBe(8);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages/count_tokens' });
  });

  it('takes tools, tool_choice and thinking but refuses max_tokens, stream and unknown fields, as the real API does', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' } }];
    const ok = await count({ model: MODEL, messages: hi, tools, tool_choice: { type: 'auto' }, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(ok.status, ok.text).toBe(200);
    for (const field of ['max_tokens', 'stream', 'temperature', 'bogus']) {
      const r = await count({ model: MODEL, messages: hi, [field]: 1 });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: `${field}: Extra inputs are not permitted` } });
    }
    expect(JSON.parse((await count({ model: MODEL })).text)).toMatchObject({ error: { message: 'messages: Field required' } });
    expect((await count({ model: 'claude-nope', messages: hi })).status).toBe(404);
  });

  it('checks x-api-key and anthropic-version, and takes status faults like the messages endpoint', async () => {
    const prompt = { model: MODEL, messages: hi };
    expect((await count(prompt, { 'x-api-key': undefined })).status).toBe(401);
    const noVersion = await count(prompt, { 'anthropic-version': undefined });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.text)).toMatchObject({ error: { message: 'anthropic-version: header is required' } });
    const limited = await count(prompt, { 'x-fake-fault': 'status=429;retry-after=3' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    fake.pushFault({ kind: 'status', status: 529 });
    const overloaded = await count(prompt);
    expect(overloaded.status).toBe(529);
    expect(JSON.parse(overloaded.text)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect((await count(prompt)).status).toBe(200);
  });
});

describe('fake Anthropic: answers', () => {
  it('echoes the last user text with realistic usage', async () => {
    const m = await message({ system: 'be brief', messages: [{ role: 'user', content: 'hello there world' }] });
    expect(m).toMatchObject({
      type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn', stop_sequence: null,
      content: [{ type: 'text', text: 'Echo: hello there world' }],
      usage: { input_tokens: 8, output_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(m.id).toMatch(/^msg_/);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages' });
  });

  it('honours stop_sequences and max_tokens', async () => {
    const stopped = await message({ messages: [{ role: 'user', content: 'one two three' }], stop_sequences: ['two', 'one'] });
    expect(stopped).toMatchObject({ content: [{ type: 'text', text: 'Echo: ' }], stop_reason: 'stop_sequence', stop_sequence: 'one' });
    const cut = await message({ max_tokens: 2, messages: [{ role: 'user', content: 'one two three' }] });
    expect(cut).toMatchObject({ content: [{ type: 'text', text: 'Echo: one' }], stop_reason: 'max_tokens', usage: { output_tokens: 2 } });
  });

  it('calls tools as tool_choice demands and answers tool results', async () => {
    const tools = [{ name: 'a', input_schema: { type: 'object' } }, { name: 'b', description: 'B', input_schema: { type: 'object', properties: {} } }];
    const any = await message({ messages: [{ role: 'user', content: 'go' }], tools, tool_choice: { type: 'any' } });
    expect(any).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'a', input: { echo: 'go' } }] });
    const named = await message({ messages: [{ role: 'user', content: 'go' }], tools, tool_choice: { type: 'tool', name: 'b', disable_parallel_tool_use: true } });
    const use = (named.content as Array<{ id: string; name: string }>)[0];
    expect(use?.name).toBe('b');
    expect(use?.id).toMatch(/^toolu_/);
    const none = await message({ messages: [{ role: 'user', content: 'go' }], tools, tool_choice: { type: 'none' } });
    expect(none).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'Echo: go' }] });

    const answered = await message({
      tools,
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: use?.id, name: 'b', input: { echo: 'go' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id, content: [{ type: 'text', text: 'done' }] }] },
      ],
    });
    expect(answered).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'Tool result: done' }] });
  });

  it('streams with the real framing: message_start, content_block_start, ping, deltas, stop, message_delta, message_stop', async () => {
    const r = await post({ model: MODEL, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'a b c' }] });
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const evs = events(r.text);
    expect(evs.map(([name]) => name)).toEqual([
      'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const text = evs.filter(([n]) => n === 'content_block_delta').map(([, d]) => (d.delta as { text: string }).text).join('');
    expect(text).toBe('Echo: a b c');
    expect(evs[0]?.[1]).toMatchObject({ message: { role: 'assistant', content: [], usage: { input_tokens: 6, output_tokens: 1 } } });
    expect(evs[8]?.[1]).toMatchObject({ delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4 } });
  });
});

describe('fake Anthropic: strictness', () => {
  it('checks x-api-key, anthropic-version and the content type', async () => {
    const locked = await startFakeAnthropic({ apiKey: 'sk-ant-right', recordBodies: false });
    try {
      const body = { model: MODEL, max_tokens: 5, messages: hi };
      const wrong = await post(body, { 'x-api-key': 'sk-ant-wrong' }, locked);
      expect(wrong.status).toBe(401);
      expect(JSON.parse(wrong.text)).toMatchObject({ error: { type: 'authentication_error', message: 'invalid x-api-key' } });
      expect((await post(body, { 'x-api-key': 'sk-ant-right' }, locked)).status).toBe(200);
      expect(locked.requestCount).toBe(2);
      expect(locked.requests).toHaveLength(0);
    } finally {
      await locked.close();
    }
    const body = { model: MODEL, max_tokens: 5, messages: hi };
    expect(await rejected(body, { 'x-api-key': undefined })).toMatchObject({ status: 401, error: { type: 'authentication_error' } });
    expect(await rejected(body, { 'anthropic-version': undefined })).toEqual({ status: 400, error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
    expect((await rejected(body, { 'content-type': 'text/plain' })).status).toBe(400);
    expect((await rejected('{"model":', {})).status).toBe(400);
  });

  it.each([
    ['an unknown field', { messages: hi, n: 1 }, 'n: Extra inputs are not permitted'],
    ['a missing max_tokens', { messages: hi, max_tokens: undefined }, 'max_tokens: Field required'],
    ['missing messages', { messages: undefined }, 'messages: Field required'],
    ['empty messages', { messages: [] }, 'at least one message'],
    ['a system message', { messages: [{ role: 'system', content: 'x' }, ...hi] }, 'Unexpected role "system"'],
    ['another role', { messages: [{ role: 'tool', content: 'x' }] }, "messages.0.role: Input should be 'user' or 'assistant'"],
    ['a first assistant message', { messages: [{ role: 'assistant', content: 'x' }, ...hi] }, 'first message must use the "user" role'],
    ['two user turns in a row', { messages: [...hi, ...hi] }, 'roles must alternate'],
    ['empty content', { messages: [{ role: 'user', content: '' }] }, 'non-empty content'],
    ['a blank text block', { messages: [{ role: 'user', content: [{ type: 'text', text: ' ' }] }] }, 'non-whitespace text'],
    ['a final assistant turn ending in whitespace', { messages: [...hi, { role: 'assistant', content: 'ok ' }] }, 'trailing whitespace'],
    ['an orphan tool_result', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x' }] }] }, 'unexpected `tool_use_id`'],
    ['an unanswered tool_use', {
      messages: [...hi, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] }, { role: 'user', content: 'and?' }],
    }, '`tool_use` ids were found without `tool_result` blocks'],
    ['tool_use in a user turn', { messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }] }, "Input tag 'tool_use'"],
    ['a bad max_tokens type', { messages: hi, max_tokens: '10' }, 'max_tokens: Input should be a valid integer'],
    ['too many max_tokens', { messages: hi, max_tokens: 1_000_000 }, 'maximum allowed number of output tokens'],
    ['temperature above 1', { messages: hi, temperature: 1.5 }, 'temperature: Input should be less than or equal to 1'],
    ['a tool without input_schema', { messages: hi, tools: [{ name: 'f' }] }, 'tools.0.input_schema: Field required'],
    ['a tool_choice naming no tool', { messages: hi, tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'g' } }, "Tool 'g' not found"],
    ['disable_parallel_tool_use with none', { messages: hi, tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'none', disable_parallel_tool_use: true } }, 'Extra inputs'],
    ['an unsupported image type', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/tiff', data: 'AAAA' } }] }] }, 'media_type'],
    ['metadata other than user_id', { messages: hi, metadata: { tag: 'x' } }, 'metadata.tag: Extra inputs'],
    ['a thinking budget under 1,024', { messages: hi, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1000 } }, 'greater than or equal to 1024'],
    ['max_tokens not above the thinking budget', { messages: hi, max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 2000 } }, '`max_tokens` must be greater than `thinking.budget_tokens`'],
    ['a temperature with thinking', { messages: hi, max_tokens: 4000, temperature: 0.5, thinking: { type: 'enabled', budget_tokens: 1024 } }, '`temperature` may only be set to 1'],
    ['forced tool use with thinking', { messages: hi, max_tokens: 4000, tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'any' }, thinking: { type: 'enabled', budget_tokens: 1024 } }, 'tool_choice forces tool use'],
    ['five cache_control marks', { messages: [{ role: 'user', content: Array.from({ length: 5 }, (_, i) => ({ type: 'text', text: `p${i}`, cache_control: { type: 'ephemeral' } })) }] }, 'A maximum of 4 blocks with cache_control'],
  ])('rejects %s', async (_name, fields, message) => {
    const { status, error } = await rejected({ model: MODEL, max_tokens: 10, ...fields });
    expect(status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain(message);
  });

  it('answers an unknown model with 404 not_found_error and an unknown path with 404', async () => {
    expect(await rejected({ model: 'gpt-4o', max_tokens: 5, messages: hi })).toEqual({ status: 404, error: { type: 'not_found_error', message: 'model: gpt-4o' } });
    const res = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: HEADERS, body: '{}' });
    expect(res.status).toBe(404);
  });
});

describe('fake Anthropic: faults', () => {
  const body = { model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'a b c d e f' }] };

  it('status faults answer in Anthropic error shape: 429 with retry-after, 529 overloaded, queued faults', async () => {
    const limited = await post(body, { 'x-fake-fault': 'status=429;retry-after=2' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(JSON.parse(limited.text)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });

    fake.pushFault({ kind: 'status', status: 529 }, 2);
    for (let i = 0; i < 2; i++) expect(await rejected(body)).toEqual({ status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect((await post(body)).status).toBe(200);
    expect((await rejected(body, { 'x-fake-fault': 'bogus' })).status).toBe(400);
  });

  it('error-mid-stream (header or queue) sends event: error after N events and ends the response', async () => {
    fake.pushFault({ kind: 'error-mid-stream', afterChunks: 3 });
    const r = await post({ ...body, stream: true });
    const evs = events(r.text);
    expect(evs.map(([n]) => n)).toEqual(['message_start', 'content_block_start', 'ping', 'error']);
    expect(evs[3]?.[1]).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const viaHeader = await post({ ...body, stream: true }, { 'x-fake-fault': 'error-mid-stream=1' });
    expect(events(viaHeader.text).map(([n]) => n)).toEqual(['message_start', 'error']);
  });

  it('cut-stream kills the connection mid-stream; reset drops it; hang never answers', async () => {
    await expect(post({ ...body, stream: true }, { 'x-fake-fault': 'cut-stream=2' })).rejects.toThrow();
    await expect(post(body, { 'x-fake-fault': 'cut-stream=1' })).rejects.toThrow();
    fake.pushFault({ kind: 'reset' });
    await expect(post(body)).rejects.toThrow();
    const controller = new AbortController();
    const hung = fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { ...HEADERS, 'x-fake-fault': 'hang' }, body: JSON.stringify(body), signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(hung).rejects.toThrow();
  });

  it('delay and x-fake-chunk-delay-ms pace the answer', async () => {
    let t0 = Date.now();
    await post(body, { 'x-fake-fault': 'delay=80' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    t0 = Date.now();
    const r = await post({ ...body, stream: true, messages: hi }, { 'x-fake-chunk-delay-ms': '20' });
    // 'Echo: hi' = 2 deltas → 8 events, 7 gaps
    expect(events(r.text)).toHaveLength(8);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(7 * 20 - 10);
  });
});

describe('fake Anthropic: HTTPS', () => {
  it('serves the same API over TLS when given a certificate', async () => {
    const { ca, server } = await createTestCaWithServer(['DNS:api.anthropic.test', 'IP:127.0.0.1']);
    const secure = await startFakeAnthropic({ tls: { cert: server.cert, key: server.key } });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await httpsRequest(`${secure.url}/v1/messages`, {
        method: 'POST', headers: HEADERS, ca: ca.caCert, servername: 'api.anthropic.test',
        body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: hi }),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ content: [{ type: 'text', text: 'Echo: hi' }] });
    } finally {
      await secure.close();
      await ca.remove();
    }
  });
});

describe('fake Anthropic: CLI', () => {
  it('prints FAKE_ANTHROPIC_URL and serves until SIGTERM', async () => {
    const child = spawn(process.execPath, ['test/fakes/anthropic-provider.ts', '--port', '0', '--api-key', 'k'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /FAKE_ANTHROPIC_URL=(\S+)\n/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.once('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { ...HEADERS, 'x-api-key': 'k' }, body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: hi }) });
      expect(res.status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('extended thinking', () => {
  const thinking = { type: 'enabled', budget_tokens: 1024 };

  it('opens the answer with a signed thinking block, JSON and stream alike', async () => {
    const json = await message({ max_tokens: 2048, thinking, messages: hi });
    expect(json.content).toEqual([
      { type: 'thinking', thinking: 'Let me think about: hi', signature: expect.any(String) },
      { type: 'text', text: 'Echo: hi' },
    ]);
    const r = await post({ model: MODEL, max_tokens: 2048, thinking, messages: hi, stream: true });
    const stream = events(r.text);
    const deltas = stream.filter(([name]) => name === 'content_block_delta').map(([, data]) => data.delta as Record<string, string>);
    expect(deltas.filter((d) => d.type === 'thinking_delta').map((d) => d.thinking).join('')).toBe('Let me think about: hi');
    expect(deltas.filter((d) => d.type === 'thinking_delta').length).toBeGreaterThan(1);
    expect(deltas.filter((d) => d.type === 'signature_delta')).toHaveLength(1);
    expect(stream.filter(([name]) => name === 'content_block_start').map(([, data]) => data.index)).toEqual([0, 1]);
  });

  it('refuses a budget under 1,024 tokens or not below max_tokens, as the real API does', async () => {
    expect((await rejected({ model: MODEL, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 100 }, messages: hi })).status).toBe(400);
    const over = await rejected({ model: MODEL, max_tokens: 1024, thinking, messages: hi });
    expect(over.error.message).toContain('budget_tokens');
  });
});

describe('the newer top-level fields (the pinned SDK\'s MessageCreateParams)', () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };

  it('accepts them as the real API does, and answers output_config.format with JSON valid against the schema', async () => {
    const json = await message({
      messages: hi, cache_control: { type: 'ephemeral', ttl: '1h' }, service_tier: 'standard_only', inference_geo: 'us', speed: 'fast',
      container: 'container_1', context_management: { edits: [] }, mcp_servers: [], diagnostics: { previous_message_id: null },
      thinking: { type: 'adaptive' }, output_config: { effort: 'high', format: { type: 'json_schema', schema } },
    });
    const text = (json.content as Array<{ type: string; text?: string }>).find((b) => b.type === 'text')?.text ?? '';
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['answer']);
    // The beta name of the same format, streamed.
    const r = await post({ model: MODEL, max_tokens: 100, messages: hi, stream: true, output_format: { type: 'json_schema', schema } });
    const deltas = events(r.text).filter(([name]) => name === 'content_block_delta').map(([, data]) => (data.delta as { text: string }).text);
    expect(JSON.parse(deltas.join(''))).toHaveProperty('answer');
  });

  it('max_tokens 0 reads (and caches) the prompt but generates nothing', async () => {
    const json = await message({ max_tokens: 0, messages: hi });
    expect(json).toMatchObject({ content: [], stop_reason: 'max_tokens', usage: { output_tokens: 0 } });
    expect((json.usage as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    expect((await rejected({ model: MODEL, max_tokens: -1, messages: hi })).status).toBe(400);
  });

  it('refuses bad values and combinations of them, and still refuses unknown fields', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ speed: 'ludicrous' }, "speed: Input should be 'standard' or 'fast'"],
      [{ service_tier: 'priority' }, "service_tier: Input should be 'auto' or 'standard_only'"],
      [{ output_config: { format: { type: 'json_schema', schema: { type: 'array' } } } }, 'output_config.format.schema'],
      [{ output_config: { format: { type: 'json_schema', schema } }, output_format: { type: 'json_schema', schema } }, 'output_format cannot be combined'],
      [{ compaction: { type: 'compaction' }, context_management: { edits: [] } }, 'compaction cannot be combined'],
      [{ cache_control: { type: 'persistent' } }, "cache_control.type: Input should be 'ephemeral'"],
      [{ frequency_penalty: 1 }, 'frequency_penalty: Extra inputs are not permitted'],
    ];
    for (const [fields, message] of bad) {
      const r = await rejected({ model: MODEL, max_tokens: 100, messages: hi, ...fields });
      expect(r.status, JSON.stringify(fields)).toBe(400);
      expect(r.error.message).toContain(message);
    }
  });

  it('count_tokens takes the prompt-shaping ones (output_config, cache_control, speed…) but not service_tier', async () => {
    const count = (body: unknown) => post(body, {}, fake, '/v1/messages/count_tokens');
    const ok = await count({ model: MODEL, messages: hi, output_config: { format: { type: 'json_schema', schema } }, cache_control: { type: 'ephemeral' }, speed: 'fast', mcp_servers: [] });
    expect(ok.status, ok.text).toBe(200);
    const r = await count({ model: MODEL, messages: hi, service_tier: 'auto' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { message: 'service_tier: Extra inputs are not permitted' } });
  });
});
