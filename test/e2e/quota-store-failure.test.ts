import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { ADMIN_TOKEN, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { restartableRedis, type RestartableRedis } from '../helpers/restartable-redis.ts';

const STATIC_KEY = 'tg-quota-static-key';
const BUCKET_KEY = '{tg:acme}:tb:team:acme%2Fplatform:tpm';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Result {
  sentAt: number;
  status: number;
  code: string | null;
  ms: number;
}

/**
 * Redis killed in the middle of a steady load, then started again: fail-open admits everything (and counts it),
 * fail-closed answers a fast OpenAI-shaped 503, and both recover by themselves once Redis is back.
 */
describe('quota store failure', () => {
  let redis: RestartableRedis;
  let store: RedisStore;
  let h: Harness;
  const config = (mode: 'open' | 'closed') => {
    const c = testConfig();
    // A config key: authentication does not need Redis, so what is tested is the quota stage alone.
    c.keys = [{ key_env: 'TEST_QUOTA_STATIC_KEY', org: 'acme', team: 'platform', app: 'playground' }];
    c.quotas = { on_store_failure: mode, limits: { team: { 'acme/platform': { tpm: 1_000_000, rpm: 100_000 } } } };
    return c;
  };
  beforeAll(async () => {
    process.env.TEST_QUOTA_STATIC_KEY = STATIC_KEY;
    redis = await restartableRedis(await freePort());
    store = new RedisStore({ url: redis.url, commandTimeoutMs: 500 });
    h = await startHarness({ config: config('open'), store });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await store?.close();
    await redis?.stop();
    delete process.env.TEST_QUOTA_STATIC_KEY;
  });

  /** ~25 requests per second for `durationMs`; Redis is killed at `killAt` and started again at `restartAt`. */
  async function loadWithOutage(durationMs: number, killAt: number, restartAt: number): Promise<{ results: Result[]; killedAt: number; restartedAt: number }> {
    const started = Date.now();
    const inFlight: Array<Promise<Result>> = [];
    let killedAt = 0;
    let restartedAt = 0;
    const outage = (async () => {
      await sleep(killAt);
      await redis.kill();
      killedAt = Date.now() - started;
      await sleep(restartAt - killAt);
      await redis.start();
      restartedAt = Date.now() - started;
    })();
    while (Date.now() - started < durationMs) {
      const sentAt = Date.now() - started;
      inFlight.push((async () => {
        const t0 = performance.now();
        const response = await fetch(`${h.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${STATIC_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'steady load' }] }),
        });
        const body = (await response.json()) as { error?: { code: string; type: string; message: string; param: unknown } };
        if (response.status !== 200) expect(body.error).toEqual({ message: expect.any(String), type: expect.any(String), code: expect.any(String), param: null });
        return { sentAt, status: response.status, code: body.error?.code ?? null, ms: performance.now() - t0 };
      })());
      await sleep(40);
    }
    await outage;
    return { results: await Promise.all(inFlight), killedAt, restartedAt };
  }

  async function untilReservationsResume(): Promise<void> {
    const admin = new RedisStore({ url: redis.url });
    try {
      for (let i = 0; i < 100; i += 1) {
        const response = await fetch(`${h.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${STATIC_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after the outage' }] }),
        });
        expect(response.status).toBe(200);
        if (response.headers.get('x-ratelimit-limit-tokens') === '1000000' && (await admin.client.exists(BUCKET_KEY)) === 1) return;
        await sleep(100);
      }
      throw new Error('reservations did not resume after Redis came back');
    } finally {
      await admin.close();
    }
  }

  it('fail-open admits every request while Redis is down, counts it, and reserves again once Redis is back', async () => {
    const { results } = await loadWithOutage(3000, 800, 1800);
    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    const metrics = await (await fetch(`${h.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_quota_store_failures_total\{phase="reserve",mode="open"\} [1-9]/);
    await untilReservationsResume();
  }, 60_000);

  it('fail-closed answers 503 quota_store_unavailable quickly while Redis is down, and recovers without a restart', async () => {
    await h.writeConfig(config('closed'));
    const reload = await fetch(`${h.adminUrl}/admin/v1/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(reload.status).toBe(200);
    const { results, killedAt, restartedAt } = await loadWithOutage(3500, 800, 1800);
    const failed = results.filter((r) => r.status !== 200);
    expect(failed.length).toBeGreaterThan(5);
    for (const r of failed) {
      expect(r.status).toBe(503);
      expect(r.code).toBe('quota_store_unavailable');
      expect(r.ms).toBeLessThan(1500);
      // Only requests sent while Redis was down (or reconnecting) fail.
      expect(r.sentAt).toBeGreaterThanOrEqual(killedAt - 100);
    }
    expect(results.filter((r) => r.sentAt < killedAt - 100).every((r) => r.status === 200)).toBe(true);
    // Recovered by itself: the requests of the last second after the restart all pass.
    const late = results.filter((r) => r.sentAt > restartedAt + 1000);
    expect(late.length).toBeGreaterThan(5);
    expect(late.every((r) => r.status === 200)).toBe(true);
    await untilReservationsResume();
  }, 60_000);
});
