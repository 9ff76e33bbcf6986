import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { freePort } from '../helpers/free-port.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Graceful degradation through real Envoy: when the provider chain fails (the provider's own 5xx, or Envoy's local
 * 503 when it cannot connect), a stale entry answers for a route with stale_on_error, else the route's default
 * response, else the error passes.
 */
describe('stale and default answers for a failed provider chain', () => {
  let h: Harness;
  beforeAll(async () => {
    const base = testConfig() as { providers: Record<string, unknown>; models: Record<string, unknown> };
    // Nothing listens there: Envoy's connect attempts fail and it answers its own 503.
    const deadPort = await freePort();
    h = await startHarness({
      config: {
        ...base,
        providers: { ...base.providers, down: { type: 'openai', base_url: `http://127.0.0.1:${deadPort}/v1` } },
        models: {
          ...base.models,
          'down-chat': { provider: 'down', kind: 'chat' },
          'down-plain': { provider: 'down', kind: 'chat' },
        },
        cache: {
          defaults: { ttl_seconds: 1 },
          models: {
            'gpt-4o-mini': { stale_on_error: true, stale_ttl_seconds: 3600 },
            'gpt-4o': { default_response: { content: 'We are busy right now; please retry in a minute.' } },
            'down-chat': { default_response: { content: 'Offline answer.' } },
          },
        },
      },
    });
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.fake.reset());

  it('answers with the stale entry, marked stale, when the provider fails after the entry expired', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user' as const, content: 'What is stale data?' }] };
    const fresh = await h.client().chat.completions.create(request).withResponse();
    expect(fresh.response.headers.get('x-tollgate-cache')).toBe('miss');
    await sleep(1100);
    const stale = await h.client().chat.completions.create(request, { headers: { 'x-fake-fault': 'status=503' } }).withResponse();
    expect(stale.response.headers.get('x-tollgate-cache')).toBe('stale');
    expect(stale.data.choices[0]?.message.content).toBe(fresh.data.choices[0]?.message.content);
    // The provider was asked (the entry had expired) and failed.
    expect(h.fake.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('replays a stale stream as SSE', async () => {
    const request = { model: 'gpt-4o-mini', temperature: 0, stream: true as const, messages: [{ role: 'user' as const, content: 'stream me stale' }] };
    let original = '';
    for await (const chunk of await h.client().chat.completions.create(request)) original += chunk.choices[0]?.delta.content ?? '';
    await sleep(1100);
    const { data, response } = await h.client().chat.completions.create(request, { headers: { 'x-fake-fault': 'status=500' } }).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('stale');
    let replayed = '';
    for await (const chunk of data) replayed += chunk.choices[0]?.delta.content ?? '';
    expect(replayed).toBe(original);
  });

  it('answers with the route\'s default response, marked default, when there is no entry', async () => {
    const { data, response } = await h.client().chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'anything' }] }, { headers: { 'x-fake-fault': 'status=503' } })
      .withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-cache')).toBe('default');
    expect(data.choices[0]?.message.content).toBe('We are busy right now; please retry in a minute.');
  });

  it('answers with the default response when Envoy itself cannot reach the provider (local 503)', async () => {
    const { data, response } = await h.client().chat.completions
      .create({ model: 'down-chat', messages: [{ role: 'user', content: 'anyone there?' }] })
      .withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('default');
    expect(data.choices[0]?.message.content).toBe('Offline answer.');
  });

  it('passes the error when the route has neither a stale entry nor a default response', async () => {
    const error = await h.client().chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'no entry for this one' }] }, { headers: { 'x-fake-fault': 'status=503' } })
      .catch((e: unknown) => e as { status?: number; error?: { type?: string } });
    expect(error).toMatchObject({ status: 503 });
    const local = await h.client().chat.completions
      .create({ model: 'down-plain', messages: [{ role: 'user', content: 'hello?' }] })
      .catch((e: unknown) => e as { status?: number; error?: unknown });
    // The unreachable provider's error, in the OpenAI shape.
    expect(local).toMatchObject({ status: 503 });
    expect((local as { error?: { message?: string } }).error?.message).toEqual(expect.any(String));
  });

  it('still serves ordinary successful requests with the response headers phase on', async () => {
    const { data, response } = await h.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: Hello');
    expect(response.headers.get('x-tollgate-cache')).toBe('bypass');
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
  });
});
