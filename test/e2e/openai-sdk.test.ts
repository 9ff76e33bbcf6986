import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** The official OpenAI SDK, unchanged but for base URL and key, through real Envoy + Tollgate to the strict fake. */
describe('OpenAI SDK through Envoy and Tollgate', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.fake.reset());

  it('answers a chat completion and swaps the client key for the provider key', async () => {
    const { data, response } = await h.client().chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: Hello there');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-tollgate-request-id')).toMatch(/.+/);
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    const received = h.fake.requests[0];
    expect(received?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(JSON.stringify(received?.headers)).not.toContain(h.key);
    expect(Object.keys(received?.headers ?? {}).filter((name) => name.startsWith('x-tollgate'))).toEqual([]);
  });

  it('gives every request a fresh id: a client-sent x-request-id is not reused', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const { response } = await h.client().chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'id?' }] }, { headers: { 'x-request-id': 'client-chosen' } })
        .withResponse();
      ids.add(response.headers.get('x-tollgate-request-id') ?? '');
    }
    expect(ids.size).toBe(2);
    expect(ids.has('client-chosen')).toBe(false);
  });

  it('streams chunk by chunk: the first chunk arrives long before the last, content reassembles exactly', async () => {
    const text = 'one two three four five six';
    const expected = (await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }))
      .choices[0]?.message.content;
    const started = performance.now();
    const stream = await h.client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], stream: true },
      { headers: { 'x-fake-chunk-delay-ms': '100' } },
    );
    const arrivals: number[] = [];
    let content = '';
    let sawUsage = false;
    for await (const chunk of stream) {
      arrivals.push(performance.now() - started);
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) sawUsage = true;
    }
    expect(content).toBe(expected);
    expect(arrivals.length).toBeGreaterThan(5);
    // Chunks are 100 ms apart at the fake: buffering would deliver them all at once.
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(500);
    // Tollgate asked the provider for usage on the client's behalf and removed the usage chunk again.
    expect(sawUsage).toBe(false);
    const upstreamBody = h.fake.requests.at(-1)?.body as { stream_options?: { include_usage?: boolean } };
    expect(upstreamBody.stream_options?.include_usage).toBe(true);
    const metrics = await fetch(`${h.adminUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/tollgate_tokens_total\{team="platform",model="gpt-4o-mini",provider="openai",kind="completion"\} [1-9]/);
  });

  it('keeps the usage chunk when the client asked for it', async () => {
    const stream = await h.client().chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count me' }], stream: true, stream_options: { include_usage: true },
    });
    let usage: { total_tokens: number } | null | undefined = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('passes tools, n and response_format through, and completes a tools round trip', async () => {
    const tools = [{
      type: 'function' as const,
      function: { name: 'lookup', description: 'Look something up', parameters: { type: 'object', properties: { echo: { type: 'string' } } } },
    }];
    const first = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'weather?' }], tools });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' ? call.function.name : null).toBe('lookup');
    const second = await h.client().chat.completions.create({
      model: 'gpt-4o-mini',
      tools,
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: first.choices[0]?.message.tool_calls },
        { role: 'tool', tool_call_id: call?.id ?? '', content: 'sunny' },
      ],
    });
    expect(second.choices[0]?.message.content).toBe('Tool result: sunny');

    const many = await h.client().chat.completions.create({
      model: 'gpt-4o-mini', n: 2, response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'json please' }],
    });
    expect(many.choices).toHaveLength(2);
    expect(JSON.parse(many.choices[1]?.message.content ?? '')).toEqual({ echo: 'json please' });
  });

  it('creates embeddings', async () => {
    const result = await h.client().embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding.length).toBeGreaterThan(0);
  });

  it('maps a public model name to the provider model name', async () => {
    const result = await h.client().chat.completions.create({ model: 'fast-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(result.choices[0]?.message.content).toBe('Echo: hi');
    expect((h.fake.requests.at(-1)?.body as { model: string }).model).toBe('gpt-4o-mini');
  });

  it('lists only the models the key may use, and refuses the others with 403', async () => {
    const researchKey = await h.createKey('research', 'notebook');
    const listed = [];
    for await (const model of h.client(researchKey).models.list()) listed.push(model.id);
    expect(listed.sort()).toEqual(['gpt-4o-mini', 'text-embedding-3-small']);
    const all = [];
    for await (const model of h.client().models.list()) all.push(model.id);
    expect(all.sort()).toEqual(Object.keys(testConfig().models as object).sort());

    expect((await h.client(researchKey).models.retrieve('gpt-4o-mini')).id).toBe('gpt-4o-mini');
    const hidden = await h.client(researchKey).models.retrieve('gpt-4o').then(() => ({ status: 200 }), (error: unknown) => error as { status: number });
    expect(hidden.status).toBe(404);

    const denied = await h.client(researchKey).chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error as { status: number; code: string; message: string });
    expect(denied).toMatchObject({ status: 403, code: 'model_not_allowed' });
    expect(h.fake.requestCount).toBe(0);
  });

  it('serves 200 concurrent requests, and the provider sees exactly 200', async () => {
    const client = h.client();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `request ${i}` }] })));
    expect(results.map((r) => r.choices[0]?.message.content)).toEqual(Array.from({ length: 200 }, (_, i) => `Echo: request ${i}`));
    expect(h.fake.requestCount).toBe(200);
  });

  it('turns a stream cut by the provider mid-way into an error for the client, never a clean end', async () => {
    const stream = await h.client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a b c d e f g h' }], stream: true },
      { headers: { 'x-fake-fault': 'cut-stream=4', 'x-fake-chunk-delay-ms': '30' } },
    );
    let received = 0;
    const iterate = async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) received++;
    };
    await expect(iterate()).rejects.toThrow();
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(8);
  });

  it('answers a provider that resets the connection before responding with an OpenAI-shaped 502', async () => {
    const error = await h.client().chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a b c' }], stream: true }, { headers: { 'x-fake-fault': 'reset' } })
      .then(() => null, (e: unknown) => e as { status: number; error: { code: string; type: string } });
    expect(error).toMatchObject({ status: 502, error: { type: 'api_error', code: 'provider_unreachable' } });
  });
});
