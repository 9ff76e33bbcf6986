import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { startRedisServer } from '../helpers/redis-server.ts';

/** Redis going away must give clients a clear, fast 503, never a hang or Envoy's ext_proc timeout. */
describe('store outage', () => {
  let h: Harness;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let store: RedisStore;
  const STATIC_KEY = 'tg-static-config-key';
  beforeAll(async () => {
    redis = await startRedisServer();
    store = new RedisStore({ url: redis.url, commandTimeoutMs: 500 });
    const config = testConfig();
    config.keys = [{ key_env: 'TEST_STATIC_KEY', org: 'acme', team: 'platform', app: 'playground' }];
    process.env.TEST_STATIC_KEY = STATIC_KEY;
    h = await startHarness({ config, store });
  });
  afterAll(async () => {
    await h?.stop();
    await store?.close();
    await redis?.stop();
    delete process.env.TEST_STATIC_KEY;
  });

  const chat = (key: string) => fetch(`${h.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });

  it('answers 503 store_unavailable quickly for store-held keys, while config keys keep working', async () => {
    expect((await chat(h.key)).status).toBe(200);
    await redis.stop();
    const started = performance.now();
    const response = await chat(h.key);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect(performance.now() - started).toBeLessThan(1900);
    expect((await chat(STATIC_KEY)).status).toBe(200);
  });
});
