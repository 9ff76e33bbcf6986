import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { startFakeOpenAI } from './openai-provider.ts';
import type { FakeOpenAI } from './openai-provider.ts';

let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  client = new OpenAI({ baseURL: fake.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { message: string; type: string; param: string | null; code: string | null } } }> {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as { error?: { message: string; type: string; param: string | null; code: string | null } } };
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const TOOLS: ChatCompletionTool[] = [
  { type: 'function', function: { name: 'lookup', description: 'look things up', parameters: { type: 'object', properties: { echo: { type: 'string' } } } } },
  { type: 'function', function: { name: 'other', parameters: { type: 'object', properties: {} } } },
];

describe('fake OpenAI provider: chat', () => {
  it('answers deterministically with the OpenAI response shape', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there world' },
      ],
    });
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('gpt-4o-mini');
    expect(r.system_fingerprint).toBeTypeOf('string');
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: hello there world', refusal: null });
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.choices[0]?.logprobs).toBeNull();
    // 2 + 3 words, 3 per message
    expect(r.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
    expect(fake.requestCount).toBe(1);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect((fake.requests[0]?.body as { model: string }).model).toBe('gpt-4o-mini');
  });

  it('plays a weaker model that refuses what `refuseWhen` matches, streams included', async () => {
    const weak = await startFakeOpenAI({ refuseWhen: (text) => text.startsWith('Prove') });
    try {
      const weakClient = new OpenAI({ baseURL: weak.url, apiKey: 'sk-test', maxRetries: 0 });
      const refused = await weakClient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Prove it' }] });
      expect(refused.choices[0]?.message.content).toBe("I'm sorry, but I can't help with that.");
      expect(refused.usage?.completion_tokens).toBe(8);
      const chunks = await collect(await weakClient.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Prove it' }] }));
      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe("I'm sorry, but I can't help with that.");
      const answered = await weakClient.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Sum it' }] });
      expect(answered.choices[0]?.message.content).toBe('Echo: Sum it');
    } finally {
      await weak.close();
    }
  });

  it('supports n, text parts, json response_format and max_tokens', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-4o',
      n: 3,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(r.choices.every((c) => c.message.content === 'Echo: a b')).toBe(true);
    expect(r.usage?.completion_tokens).toBe(9);

    const j = await client.chat.completions.create({
      model: 'gpt-4o',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'answer in json please' }],
    });
    expect(JSON.parse(j.choices[0]?.message.content ?? '')).toEqual({ echo: 'answer in json please' });

    const l = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 2, messages: [{ role: 'user', content: 'one two three' }] });
    expect(l.choices[0]?.message.content).toBe('Echo: one');
    expect(l.choices[0]?.finish_reason).toBe('length');
  });

  it('streams chunks whose concatenation equals the non-stream content; usage only when asked', async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'stream  me   please ' }];
    const full = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });

    const chunks = await collect(await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(full.choices[0]?.message.content);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((c) => !('usage' in c))).toBe(true);

    const withUsage = await collect(
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } }),
    );
    const last = withUsage.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(full.usage);
    expect(withUsage.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('raw SSE framing ends with [DONE]', async () => {
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e !== '');
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  it('round-trips a tool call (non-stream and stream)', async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris' }];
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: TOOLS });
    const choice = r.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.id).toMatch(/^call_\d+$/);
    expect(call.function.name).toBe('lookup');
    expect(JSON.parse(call.function.arguments)).toEqual({ echo: 'weather in Paris' });

    const named = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'other' } } });
    const namedCall = named.choices[0]?.message.tool_calls?.[0];
    expect(namedCall?.type === 'function' ? namedCall.function.name : '').toBe('other');

    const none = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: TOOLS, tool_choice: 'none' });
    expect(none.choices[0]?.message.content).toBe('Echo: weather in Paris');

    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      messages: [...messages, r.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' }],
    });
    expect(answer.choices[0]?.message.content).toBe('Tool result: sunny 21C');
    expect(answer.choices[0]?.finish_reason).toBe('stop');

    const chunks = await collect(await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: TOOLS, stream: true }));
    const first = chunks[0]?.choices[0]?.delta.tool_calls?.[0];
    expect(first).toMatchObject({ index: 0, type: 'function', function: { name: 'lookup', arguments: '' } });
    expect(first?.id).toMatch(/^call_/);
    const args = chunks.map((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ echo: 'weather in Paris' });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('rejects invalid requests like the real API', async () => {
    const bad = async (body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
      try {
        // deliberately invalid bodies
        await client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
      } catch (e) {
        if (e instanceof OpenAI.APIError) return e;
        throw e;
      }
      throw new Error('expected an error');
    };
    const msgs = [{ role: 'user', content: 'hi' }];

    const unknownField = await bad({ model: 'gpt-4o-mini', messages: msgs, foo: 1 });
    expect(unknownField.status).toBe(400);
    expect(unknownField.message).toContain('Unrecognized request argument supplied: foo');

    const unknownModel = await bad({ model: 'gpt-9', messages: msgs });
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.code).toBe('model_not_found');
    expect(unknownModel.message).toContain('The model `gpt-9` does not exist or you do not have access to it.');

    const so = await bad({ model: 'gpt-4o-mini', messages: msgs, stream_options: { include_usage: true } });
    expect(so.status).toBe(400);
    expect(so.param).toBe('stream_options');

    const temp = await bad({ model: 'gpt-4o-mini', messages: msgs, temperature: 'hot' });
    expect([temp.status, temp.param, temp.code]).toEqual([400, 'temperature', 'invalid_type']);

    const n = await bad({ model: 'gpt-4o-mini', messages: msgs, n: 129 });
    expect([n.status, n.param]).toEqual([400, 'n']);

    const notArray = await bad({ model: 'gpt-4o-mini', messages: 'hi' });
    expect([notArray.status, notArray.param]).toEqual([400, 'messages']);

    const empty = await bad({ model: 'gpt-4o-mini', messages: [] });
    expect([empty.status, empty.code]).toEqual([400, 'empty_array']);

    const role = await bad({ model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'x' }] });
    expect(role.param).toBe('messages[0].role');

    const tool = await bad({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'y' }] });
    expect(tool.param).toBe('messages[1].tool_call_id');

    const orphan = await bad({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'c1', content: 'y' }] });
    expect(orphan.status).toBe(400);

    const assistant = await bad({ model: 'gpt-4o-mini', messages: [{ role: 'assistant' }] });
    expect(assistant.param).toBe('messages[0].content');

    const noModel = await bad({ messages: msgs });
    expect(noModel.message).toContain('you must provide a model parameter');

    const malformed = await post('/chat/completions', '{"model":');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error?.message).toContain('could not parse the JSON body');
    expect(malformed.json.error).toHaveProperty('param');
    expect(malformed.json.error).toHaveProperty('code');

    const arrayBody = await post('/chat/completions', '[1]');
    expect(arrayBody.status).toBe(400);

    const missingPath = await post('/nope', '{}');
    expect(missingPath.status).toBe(404);
    expect(missingPath.json.error?.type).toBe('invalid_request_error');
  });
});

describe('fake OpenAI provider: embeddings and models', () => {
  it('returns deterministic float and base64 embeddings', async () => {
    const float = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha beta', 'gamma'], encoding_format: 'float' });
    expect(float.object).toBe('list');
    expect(float.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 8],
      ['embedding', 1, 8],
    ]);
    expect(float.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(float.data[0]?.embedding).not.toEqual(float.data[1]?.embedding);

    // SDK default: asks for base64 and decodes Float32 LE itself
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha beta', 'gamma'] });
    expect(fake.requests.at(-1)?.body).toMatchObject({ encoding_format: 'base64' });
    expect(Array.from(decoded.data[0]?.embedding ?? [])).toEqual(float.data[0]?.embedding);

    const raw = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'alpha beta', encoding_format: 'base64', dimensions: 4 }));
    const b64 = (raw.json as unknown as { data: Array<{ embedding: string }> }).data[0]?.embedding ?? '';
    const buf = Buffer.from(b64, 'base64');
    expect(buf.length).toBe(16);
    const tokens = await client.embeddings.create({ model: 'text-embedding-3-large', input: [1, 2, 3], encoding_format: 'float' });
    expect(tokens.usage.prompt_tokens).toBe(3);
  });

  it('rejects bad embeddings requests', async () => {
    const unknown = await post('/embeddings', JSON.stringify({ model: 'nope', input: 'x' }));
    expect([unknown.status, unknown.json.error?.code]).toEqual([404, 'model_not_found']);
    const chatModel = await post('/embeddings', JSON.stringify({ model: 'gpt-4o-mini', input: 'x' }));
    expect(chatModel.status).toBe(404);
    const field = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'x', extra: true }));
    expect(field.json.error?.message).toBe('Unrecognized request argument supplied: extra');
    const fmt = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'hex' }));
    expect([fmt.status, fmt.json.error?.param]).toEqual([400, 'encoding_format']);
    const dims = await post('/embeddings', JSON.stringify({ model: 'text-embedding-ada-002', input: 'x', dimensions: 4 }));
    expect(dims.status).toBe(400);
    const empty = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: '' }));
    expect(empty.status).toBe(400);
  });

  it('lists models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o-mini');
    expect(ids).toContain('text-embedding-3-small');
    const one = await client.models.retrieve('gpt-4o');
    expect(one).toMatchObject({ id: 'gpt-4o', object: 'model' });
  });
});

describe('fake OpenAI provider: faults', () => {
  it('429 with retry-after from the header, and a queued fault the SDK retries past', async () => {
    const err = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-fake-fault': 'status=429;retry-after=2' } })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const rl = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rl.status).toBe(429);
    expect(rl.headers?.get('retry-after')).toBe('2');
    expect(rl.code).toBe('rate_limit_exceeded');

    // Only the milliseconds hint, as some OpenAI-compatible APIs send it (header fault and queued fault alike).
    for (const send of [
      () => fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k', 'x-fake-fault': 'status=429;retry-after-ms=1500' }, body: '{}' }),
      () => (fake.pushFault({ kind: 'status', status: 429, retryAfterMs: 1500 }), fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: '{}' })),
    ]) {
      const msOnly = await send();
      expect(msOnly.status).toBe(429);
      expect(msOnly.headers.get('retry-after-ms')).toBe('1500');
      expect(msOnly.headers.has('retry-after')).toBe(false);
    }

    fake.reset();
    fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 0 });
    const retrying = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 1 });
    const ok = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]?.message.content).toBe('Echo: x');
    expect(fake.requestCount).toBe(2);

    fake.pushFault({ kind: 'status', status: 503 }, 2);
    for (let i = 0; i < 2; i++) {
      const r = await post('/chat/completions', '{}');
      expect(r.status).toBe(503);
      expect(r.json.error?.type).toBe('server_error');
    }
    expect((await post('/chat/completions', '{}')).status).toBe(400);
  });

  it('cut-stream makes the SDK stream iteration throw', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c d e f' }] },
      { headers: { 'x-fake-fault': 'cut-stream=3' } },
    );
    const seen: ChatCompletionChunk[] = [];
    await expect(
      (async () => {
        for await (const c of stream) seen.push(c);
      })(),
    ).rejects.toThrow();
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  it('hang never answers (client timeout) and reset drops the connection', async () => {
    const t0 = Date.now();
    await expect(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { timeout: 150, headers: { 'x-fake-fault': 'hang' } }),
    ).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    fake.pushFault({ kind: 'reset' });
    await expect(fetch(`${fake.url}/models`)).rejects.toThrow();
    expect(fake.requestCount).toBe(2);
  });

  it('delay fault and chunk delay spacing', async () => {
    fake.pushFault({ kind: 'delay', ms: 100 });
    const t0 = Date.now();
    await client.models.list();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);

    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three' }] },
      { headers: { 'x-fake-chunk-delay-ms': '40' } },
    );
    const times: number[] = [];
    for await (const _c of stream) times.push(Date.now());
    // role, Echo:, one, two, three, finish = 6 chunks => 5 gaps
    expect(times).toHaveLength(6);
    const first = times[0] ?? 0;
    const last = times.at(-1) ?? 0;
    expect(last - first).toBeGreaterThanOrEqual(5 * 40 - 10);
  });
});

describe('fake OpenAI provider: auth and recording', () => {
  it('requires the bearer key when configured', async () => {
    const locked = await startFakeOpenAI({ apiKey: 'sk-right', recordBodies: false });
    try {
      const wrong = new OpenAI({ baseURL: locked.url, apiKey: 'sk-wrong-key-123', maxRetries: 0 });
      const err = await wrong.models.list().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
      const missing = await fetch(`${locked.url}/models`);
      expect(missing.status).toBe(401);
      const right = new OpenAI({ baseURL: locked.url, apiKey: 'sk-right', maxRetries: 0 });
      const r = await right.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ok' }] });
      expect(r.choices[0]?.message.content).toBe('Echo: ok');
      expect(locked.requestCount).toBe(3);
      expect(locked.requests).toHaveLength(0);
    } finally {
      await locked.close();
    }
  });
});
