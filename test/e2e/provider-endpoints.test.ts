import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** A provider with several endpoints (e.g. vLLM replicas): Envoy balances requests over them, each with its Host. */
describe('several endpoints and keys of one provider', () => {
  let h: Harness;
  let second: FakeOpenAI;

  beforeAll(async () => {
    second = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const config = testConfig();
    const providers = config.providers as Record<string, Record<string, unknown>>;
    providers.openai = { ...providers.openai, base_url: PLACEHOLDER_URL, extra_base_urls: [second.url] };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await second?.close();
  });

  it('spreads requests over the endpoints, and a failing endpoint is skipped on connect failure', async () => {
    for (let i = 0; i < 20; i++) {
      await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `n${i}` }] });
    }
    expect(h.fake.requestCount).toBeGreaterThan(2);
    expect(second.requestCount).toBeGreaterThan(2);
    expect(h.fake.requestCount + second.requestCount).toBe(20);
    expect(second.requests[0]?.headers.host).toBe(new URL(second.url).host);
    // One endpoint goes away: requests still succeed (retried on the other endpoint after the connect failure).
    await second.close();
    for (let i = 0; i < 10; i++) {
      const answer = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still here' }] });
      expect(answer.choices[0]?.message.content).toBe('Echo: still here');
    }
  });

  it('uses the keys of a multi-key credential in turn, one per request', async () => {
    process.env.TEST_ROTATED_KEYS = 'sk-a,sk-b';
    const keyed = await startHarness({
      config: {
        ...testConfig(),
        providers: { openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_ROTATED_KEYS' } },
      },
      // The fake takes any key here, so the test sees which one each request carried.
      fake: { apiKey: undefined },
    });
    try {
      for (let i = 0; i < 4; i++) {
        await keyed.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `k${i}` }] });
      }
      expect(keyed.fake.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-a', 'Bearer sk-b', 'Bearer sk-a', 'Bearer sk-b']);
    } finally {
      await keyed.stop();
      delete process.env.TEST_ROTATED_KEYS;
    }
  });
});
