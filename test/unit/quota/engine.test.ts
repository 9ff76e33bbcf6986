import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryQuotaEngine } from '../../../src/quota/memory-engine.ts';
import { RedisQuotaEngine } from '../../../src/quota/redis-engine.ts';
import { RedisStore } from '../../../src/store/redis-store.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { reservationKey, quotaPlan } from '../../../src/quota/plan.ts';
import { freshTenant, quotaEngineContract, quotasConfig } from './engine-contract.ts';

describe('MemoryQuotaEngine', () => {
  // A frozen clock: no refill while a test runs, so every level is exact.
  const now = Date.UTC(2025, 0, 15, 12);
  const engine = new MemoryQuotaEngine({ now: () => now });
  quotaEngineContract({ engine: () => engine, now: () => now, refillSlack: () => 0 });
});

describe('RedisQuotaEngine (real redis-server)', () => {
  const redis = useRedisServer();
  const stores: RedisStore[] = [];
  beforeAll(async () => {
    // Scripts not preloaded on purpose for one replica: it must recover from NOSCRIPT by itself.
    await redis.admin.script('FLUSH');
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });
  quotaEngineContract({
    engine: () => {
      const store = new RedisStore({ url: redis.url });
      stores.push(store);
      return new RedisQuotaEngine(store.client);
    },
    now: () => Date.now(),
    // Redis' clock runs: a bucket refills limit/60 000 tokens per ms while the test runs (+1 for rounding).
    refillSlack: (limit, elapsedMs) => Math.ceil((limit * (elapsedMs + 50)) / 60_000) + 1,
  });
});

describe('RedisQuotaEngine reservation records (real redis-server)', () => {
  const redis = useRedisServer();
  let store: RedisStore;
  beforeAll(() => {
    store = new RedisStore({ url: redis.url });
  });
  afterAll(async () => store?.close());
  const config = quotasConfig({ limits: { key: {}, app: {}, team: { '*': { tpm: 10_000 } }, org: {} }, budgets: { team: { '*': { daily_usd: 1 } }, app: {}, user: {}, feature: {} } });
  const planFor = (tenant: ReturnType<typeof freshTenant>, requestId: string) => {
    const plan = quotaPlan(config, tenant, Date.now());
    plan.reservationKey = reservationKey(tenant.org, requestId);
    return plan;
  };
  const counters = async (plan: ReturnType<typeof planFor>) => {
    const [u, s] = await redis.admin.hmget(plan.budgets[0]?.key as string, 'u', 's');
    const bucket = await redis.admin.get(plan.buckets[0]?.key as string);
    return { used: Number(u ?? 0), settled: Number(s ?? 0), tokens: bucket ? Math.floor(Number(bucket.split(':')[0])) : 10_000 };
  };

  it('refunds what the store reserved when the caller never heard the reserve answer (a lost reply)', async () => {
    const engine = new RedisQuotaEngine(store.client);
    const tenant = freshTenant();
    const plan = planFor(tenant, 'req-lost-reply');
    expect((await engine.reserve(plan, { tokens: 600, nanoUsd: 5000 })).admitted).toBe(true);
    expect(await counters(plan)).toMatchObject({ used: 5000, settled: 0 });
    // The replica believed the reserve failed (e.g. a command timeout): it settles with nothing reserved, nothing used.
    await engine.settle(plan, { tokens: 0, nanoUsd: 0 }, { tokens: 0, nanoUsd: 0 });
    const after = await counters(plan);
    expect(after).toMatchObject({ used: 0, settled: 0 });
    expect(after.tokens).toBeGreaterThanOrEqual(9999);
    expect(await redis.admin.get(plan.reservationKey as string)).toBe('settled');
  });

  it('counts a repeated settlement once, and settles on the caller\'s belief when the store lost the record', async () => {
    const engine = new RedisQuotaEngine(store.client);
    const tenant = freshTenant();
    const plan = planFor(tenant, 'req-settled-twice');
    expect((await engine.reserve(plan, { tokens: 300, nanoUsd: 2000 })).admitted).toBe(true);
    await engine.settle(plan, { tokens: 300, nanoUsd: 2000 }, { tokens: 100, nanoUsd: 700 });
    expect(await counters(plan)).toMatchObject({ used: 700, settled: 700 });
    // A retry of the same settlement (its first try did run, its reply was lost) counts nothing twice.
    await engine.settle(plan, { tokens: 300, nanoUsd: 2000 }, { tokens: 100, nanoUsd: 700 });
    expect(await counters(plan)).toMatchObject({ used: 700, settled: 700 });
    // A Redis restart without persistence lost a request's record: its settlement goes by what the caller reserved.
    const lost = planFor(tenant, 'req-record-lost');
    expect((await engine.reserve(lost, { tokens: 300, nanoUsd: 2000 })).admitted).toBe(true);
    await redis.admin.del(lost.reservationKey as string);
    await engine.settle(lost, { tokens: 300, nanoUsd: 2000 }, { tokens: 100, nanoUsd: 500 });
    expect(await counters(lost)).toMatchObject({ used: 1200, settled: 1200 });
  });

  it('releases the reservation of an orphan (its process died), and a settlement that still arrives counts its spend once', async () => {
    const engine = new RedisQuotaEngine(store.client);
    const tenant = freshTenant();
    const plan = planFor(tenant, 'req-orphan');
    expect((await engine.reserve(plan, { tokens: 400, nanoUsd: 3000 })).admitted).toBe(true);
    await engine.releaseOrphan(plan);
    const released = await counters(plan);
    expect(released).toMatchObject({ used: 0, settled: 0 });
    expect(released.tokens).toBeGreaterThanOrEqual(9999);
    // Released once only.
    await engine.releaseOrphan(plan);
    expect(await counters(plan)).toMatchObject({ used: 0, settled: 0 });
    // The request was alive after all: its settlement counts the spend, refunds nothing more, and counts once.
    await engine.settle(plan, { tokens: 400, nanoUsd: 3000 }, { tokens: 150, nanoUsd: 900 });
    expect(await counters(plan)).toMatchObject({ used: 900, settled: 900 });
    await engine.settle(plan, { tokens: 400, nanoUsd: 3000 }, { tokens: 150, nanoUsd: 900 });
    expect(await counters(plan)).toMatchObject({ used: 900, settled: 900 });
  });
});
