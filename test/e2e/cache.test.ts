import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

const question = (content: string) => [{ role: 'user' as const, content }];

/** The exact cache through real Envoy with the official SDK: JSON and SSE, keys, opt-outs, tenant separation. */
describe('exact response cache', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { ...testConfig(), cache: { defaults: { ttl_seconds: 60 } } } });
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.fake.reset());

  it('answers a repeated deterministic request from cache without calling the provider', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: question('What is a hash map?') };
    const first = await h.client().chat.completions.create(request).withResponse();
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    const second = await h.client().chat.completions.create(request).withResponse();
    expect(second.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(second.response.headers.get('x-tollgate-cache-match')).toBe('exact');
    expect(second.response.headers.get('x-tollgate-request-id')).toMatch(/.+/);
    expect(second.data).toEqual(first.data);
    expect(h.fake.requests).toHaveLength(1);
  });

  it('never shares an entry between requests that differ in any output-changing field', async () => {
    const base = { model: 'gpt-4o-mini', temperature: 0, messages: question('Name a prime number.') };
    await h.client().chat.completions.create(base);
    const variants = [
      { ...base, max_tokens: 5 },
      { ...base, seed: 7 },
      { ...base, top_p: 0.5 },
      { ...base, stop: ['\n'] },
      { ...base, response_format: { type: 'json_object' as const }, messages: question('Name a prime number as JSON.') },
      { ...base, messages: [{ role: 'system' as const, content: 'Be brief.' }, ...base.messages] },
      { ...base, model: 'gpt-4o' },
    ];
    for (const variant of variants) {
      const { response } = await h.client().chat.completions.create(variant).withResponse();
      expect(response.headers.get('x-tollgate-cache'), JSON.stringify(variant)).toBe('miss');
    }
    expect(h.fake.requests).toHaveLength(1 + variants.length);
    // Key order and output-neutral fields (user) do not split entries.
    const reordered = { messages: base.messages, temperature: 0, model: 'gpt-4o-mini', user: 'someone' };
    const { response } = await h.client().chat.completions.create(reordered).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('hit');
  });

  it('bypasses non-deterministic requests, Cache-Control: no-store, the bypass header and personalized requests', async () => {
    const cases: Array<{ temperature: number; headers?: Record<string, string> }> = [
      { temperature: 0.7 },
      { temperature: 0, headers: { 'cache-control': 'no-store' } },
      { temperature: 0, headers: { 'x-tollgate-cache': 'bypass' } },
      { temperature: 0, headers: { 'x-tollgate-personalized': 'true' } },
    ];
    for (const c of cases) {
      for (let i = 0; i < 2; i++) {
        const { response } = await h.client().chat.completions
          .create({ model: 'gpt-4o-mini', temperature: c.temperature, messages: question('Tell me a fact.') }, { headers: c.headers })
          .withResponse();
        expect(response.headers.get('x-tollgate-cache'), JSON.stringify(c)).toBe('bypass');
      }
    }
    expect(h.fake.requests).toHaveLength(cases.length * 2);
    // Tollgate's own request headers never reach the provider.
    for (const request of h.fake.requests) {
      expect(Object.keys(request.headers).filter((name) => name.startsWith('x-tollgate'))).toEqual([]);
    }
  });

  it('Cache-Control: no-cache skips the lookup but refreshes the entry', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: question('Refresh me.') };
    await h.client().chat.completions.create(request);
    const { response } = await h.client().chat.completions.create(request, { headers: { 'cache-control': 'no-cache' } }).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('bypass');
    expect(h.fake.requests).toHaveLength(2);
  });

  it('keeps tenants apart: another app never sees this app\'s entries', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: question('Which tenant am I?') };
    await h.client().chat.completions.create(request);
    const otherKey = await h.createKey('research', 'notebook');
    const { response } = await h.client(otherKey).chat.completions.create(request).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('miss');
    const again = await h.client(otherKey).chat.completions.create(request).withResponse();
    expect(again.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(h.fake.requests).toHaveLength(2);
  });

  it('replays a cached stream as the same SSE events, with the usage chunk only when asked', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: question('one two three four five'), stream: true as const };
    const collect = async (options: { includeUsage?: boolean } = {}) => {
      const { data: stream, response } = await h.client().chat.completions
        .create({ ...request, ...(options.includeUsage ? { stream_options: { include_usage: true } } : {}) })
        .withResponse();
      const chunks: unknown[] = [];
      let content = '';
      let usage: unknown = null;
      for await (const chunk of stream) {
        chunks.push(chunk);
        content += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      return { status: response.headers.get('x-tollgate-cache'), type: response.headers.get('content-type'), chunks, content, usage };
    };
    const miss = await collect();
    expect(miss.status).toBe('miss');
    expect(miss.content.length).toBeGreaterThan(0);
    const hit = await collect();
    expect(hit.status).toBe('hit');
    expect(hit.type).toContain('text/event-stream');
    expect(hit.chunks).toEqual(miss.chunks);
    expect(hit.usage).toBeNull();
    const withUsage = await collect({ includeUsage: true });
    expect(withUsage.status).toBe('hit');
    expect(withUsage.content).toBe(miss.content);
    expect(withUsage.usage).toMatchObject({ total_tokens: expect.any(Number) });
    expect(h.fake.requests).toHaveLength(1);
  });

  it('never stores a truncated stream', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: question('cut me off early please'), stream: true as const };
    const stream = await h.client().chat.completions.create(request, { headers: { 'x-fake-fault': 'cut-stream=2' } });
    await expect((async () => {
      for await (const _ of stream) void _;
    })()).rejects.toThrow();
    const { response } = await h.client().chat.completions.create(request).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(h.fake.requests).toHaveLength(2);
  });

  it('does not store provider errors', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: question('fail once') };
    await expect(h.client().chat.completions.create(request, { headers: { 'x-fake-fault': 'status=400' } })).rejects.toThrow();
    const { response } = await h.client().chat.completions.create(request).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('miss');
  });
});

describe('exact response cache on Redis', () => {
  const redis = useRedisServer();
  let h: Harness;
  let store: RedisStore;
  beforeAll(async () => {
    store = new RedisStore({ url: redis.url });
    h = await startHarness({ store, config: { ...testConfig(), cache: { max_entries: 2 } } });
  });
  afterAll(async () => {
    await h?.stop();
    await store?.close();
  });

  it('stores entries in Redis within the size bound and answers hits from there', async () => {
    const ask = (content: string) => h.client().chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: question(content) }).withResponse();
    // Entries are written with the request's end-of-request Redis commands, which may wait a few ms to share a write
    // with other requests' (src/store/round-trip.ts): wait for each one as a client would see it, by its count.
    const stored = async (count: number) => {
      for (let i = 0; i < 100 && (await redis.admin.zcard('tollgate:{tollgate-cache}:index')) < count; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await ask('first question');
    await stored(1);
    expect((await ask('first question')).response.headers.get('x-tollgate-cache')).toBe('hit');
    await ask('second question');
    await stored(2);
    await ask('third question');
    await new Promise((r) => setTimeout(r, 100));
    expect(await redis.admin.keys('tollgate:{tollgate-cache}:e:*')).toHaveLength(2);
    expect(await redis.admin.zcard('tollgate:{tollgate-cache}:index')).toBe(2);
    expect((await ask('third question')).response.headers.get('x-tollgate-cache')).toBe('hit');
  });
});
