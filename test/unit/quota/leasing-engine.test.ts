import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuotaLeaseConfig } from '../../../src/quota/config.ts';
import type { CrossedThreshold, QuotaPlan } from '../../../src/quota/engine.ts';
import { LeasingQuotaEngine } from '../../../src/quota/leasing-engine.ts';
import { quotaPlan, reservationKey } from '../../../src/quota/plan.ts';
import { RedisQuotaEngine } from '../../../src/quota/redis-engine.ts';
import { RedisStore } from '../../../src/store/redis-store.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { freshTenant, quotaEngineContract, quotasConfig } from './engine-contract.ts';

const LEASES: QuotaLeaseConfig = {
  enabled: true, min_requests_per_second: 0, lease_requests: 32, max_headroom_fraction: 0.1, lease_ms: 1000, settle_flush_ms: 20,
};

describe('LeasingQuotaEngine (real redis-server)', () => {
  const redis = useRedisServer();
  const stores: RedisStore[] = [];
  const engines: LeasingQuotaEngine[] = [];
  let crossed: Array<{ plan: QuotaPlan; crossed: CrossedThreshold[] }> = [];
  const leasing = (config: Partial<QuotaLeaseConfig> = {}) => {
    const store = new RedisStore({ url: redis.url });
    stores.push(store);
    const engine = new LeasingQuotaEngine(new RedisQuotaEngine(store.client), {
      config: () => ({ ...LEASES, ...config }),
      onCrossed: (plan, list) => crossed.push({ plan, crossed: list }),
      onError: (error) => {
        throw error;
      },
    });
    engines.push(engine);
    return engine;
  };
  beforeAll(() => {
    crossed = [];
  });
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    await Promise.all(stores.map((store) => store.close()));
  });

  // Asked for leases on every call (no demand threshold): the contract's tight limits must still hold exactly,
  // because a scope lends nothing unless its headroom is ample.
  describe('keeps the contract of every engine', () => {
    quotaEngineContract({
      engine: () => leasing(),
      now: () => Date.now(),
      refillSlack: (limit, elapsedMs) => Math.ceil((limit * (elapsedMs + 50)) / 60_000) + 1,
    });
  });

  const bigConfig = quotasConfig({
    limits: { key: { '*': { rpm: 100_000, tpm: 10_000_000 } }, app: {}, team: { '*': { rpm: 100_000 } }, org: {} },
    budgets: { team: { '*': { daily_usd: 1000 } }, app: {}, user: {}, feature: {} },
  });
  const evalshaCalls = async (): Promise<number> => {
    const info = await redis.admin.info('commandstats');
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
  };
  const budgetCounters = async (plan: QuotaPlan) => {
    const [u, s] = await redis.admin.hmget(plan.budgets[0]?.key as string, 'u', 's');
    return { used: Number(u ?? 0), settled: Number(s ?? 0) };
  };

  it('admits most requests from leases under load, and the counters equal the real usage once the leases are back', async () => {
    const engine = leasing();
    const tenant = freshTenant();
    const before = await evalshaCalls();
    let spent = 0;
    for (let i = 0; i < 200; i++) {
      const plan = quotaPlan(bigConfig, tenant, Date.now());
      plan.reservationKey = reservationKey(tenant.org, `lease-${i}`);
      const outcome = await engine.reserve(plan, { tokens: 500, nanoUsd: 40_000 });
      expect(outcome.admitted).toBe(true);
      // Each request used less than it reserved: the difference goes back into the lease.
      await engine.settle(plan, { tokens: 500, nanoUsd: 40_000 }, { tokens: 120, nanoUsd: 9_000 });
      spent += 9_000;
    }
    const scripts = (await evalshaCalls()) - before;
    // Without leases: 400 scripts (a reserve and a settle each). With them: a lease per 32 requests at most, plus
    // the spend flushes.
    expect(scripts).toBeLessThan(60);
    // No reservation record was written for leased requests.
    expect(await redis.admin.exists(reservationKey(tenant.org, 'lease-150'))).toBe(0);
    await engine.close();
    const plan = quotaPlan(bigConfig, tenant, Date.now());
    expect(await budgetCounters(plan)).toEqual({ used: spent, settled: spent });
    // Every token bucket is back to its level minus the real usage (plus refill, capped at capacity).
    const tokens = await redis.admin.get(plan.buckets.find((b) => b.kind === 'tokens')?.key as string);
    expect(tokens === null || Number(tokens.split(':')[0]) >= 10_000_000 - 200 * 120).toBe(true);
    const requests = await redis.admin.get(plan.buckets.find((b) => b.kind === 'requests')?.key as string);
    expect(requests === null || Number(requests.split(':')[0]) >= 100_000 - 200).toBe(true);
  });

  it('gives an expired lease back by itself: the counters come back to the real usage without a shutdown', async () => {
    const engine = leasing({ lease_ms: 100 });
    const tenant = freshTenant();
    for (let i = 0; i < 20; i++) {
      const plan = quotaPlan(bigConfig, tenant, Date.now());
      expect((await engine.reserve(plan, { tokens: 500, nanoUsd: 40_000 })).admitted).toBe(true);
      await engine.settle(plan, { tokens: 500, nanoUsd: 40_000 }, { tokens: 100, nanoUsd: 10_000 });
    }
    const plan = quotaPlan(bigConfig, tenant, Date.now());
    // While the lease lives, `u` holds what it lent on top of the spend.
    expect((await budgetCounters(plan)).used).toBeGreaterThan(200_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await budgetCounters(plan)).toEqual({ used: 200_000, settled: 200_000 });
  });

  it('never lets two processes together overshoot a limit, and leaves little of it unused', async () => {
    const config = quotasConfig({ limits: { key: {}, app: {}, team: { '*': { rpm: 600 } }, org: {} } });
    const tenant = freshTenant();
    const [a, b] = [leasing(), leasing()];
    let admitted = 0;
    await Promise.all([a, b].map(async (engine) => {
      for (let i = 0; i < 500; i++) {
        const plan = quotaPlan(config, tenant, Date.now());
        const outcome = await engine.reserve(plan, { tokens: 10, nanoUsd: 0 });
        if (outcome.admitted) admitted += 1;
      }
    }));
    // 600 per minute refills 10 a second while the test runs.
    expect(admitted).toBeLessThanOrEqual(600 + 20);
    expect(admitted).toBeGreaterThanOrEqual(540);
  });

  it('takes no lease near a limit: the request is reserved exactly, with its reservation record', async () => {
    const engine = leasing();
    const config = quotasConfig({ limits: { key: {}, app: {}, team: { '*': { rpm: 20 } }, org: {} } });
    const tenant = freshTenant();
    const plan = quotaPlan(config, tenant, Date.now());
    plan.reservationKey = reservationKey(tenant.org, 'near-limit');
    const outcome = await engine.reserve(plan, { tokens: 10, nanoUsd: 0 });
    expect(outcome).toMatchObject({ admitted: true, levels: [19] });
    expect(outcome.admitted && outcome.leased).toBeUndefined();
    expect(await redis.admin.get(plan.reservationKey)).toBe('10:0');
  });

  it('asks for leases only once the scopes are busy', async () => {
    const engine = leasing({ min_requests_per_second: 1_000_000 });
    const tenant = freshTenant();
    const plan = quotaPlan(bigConfig, tenant, Date.now());
    const outcome = await engine.reserve(plan, { tokens: 500, nanoUsd: 40_000 });
    expect(outcome.admitted && outcome.leased).toBeUndefined();
    expect(await budgetCounters(plan)).toEqual({ used: 40_000, settled: 0 });
  });

  it('alerts on a budget threshold crossed by spend settled against leases', async () => {
    crossed = [];
    const engine = leasing();
    const config = quotasConfig({ budgets: { team: { '*': { daily_usd: 0.001 } }, app: {}, user: {}, feature: {} } });
    const tenant = freshTenant();
    // 1,000,000 nano-USD budget; a 100-nano-USD estimate leaves room for leases; 30 requests of 20,000 settle 60 %.
    for (let i = 0; i < 30; i++) {
      const plan = quotaPlan(config, tenant, Date.now());
      const outcome = await engine.reserve(plan, { tokens: 10, nanoUsd: 100 });
      expect(outcome.admitted).toBe(true);
      await engine.settle(plan, { tokens: 10, nanoUsd: 100 }, { tokens: 10, nanoUsd: 20_000 });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(crossed.flatMap((c) => c.crossed.map((x) => x.percent))).toEqual([50]);
    await engine.close();
    const plan = quotaPlan(config, tenant, Date.now());
    expect(await budgetCounters(plan)).toEqual({ used: 600_000, settled: 600_000 });
  });
});
