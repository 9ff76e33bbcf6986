import { afterAll, beforeAll, describe } from 'vitest';
import { MemoryQuotaEngine } from '../../../src/quota/memory-engine.ts';
import { RedisQuotaEngine } from '../../../src/quota/redis-engine.ts';
import { RedisStore } from '../../../src/store/redis-store.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { quotaEngineContract } from './engine-contract.ts';

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
