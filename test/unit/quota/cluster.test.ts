import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisQuotaEngine } from '../../../src/quota/redis-engine.ts';
import { quotaPlan } from '../../../src/quota/plan.ts';
import { startRedisCluster, type RedisClusterHandle } from '../../helpers/redis-cluster.ts';
import { freshTenant, quotaEngineContract, quotasConfig } from './engine-contract.ts';

/**
 * The same Lua scripts on a real 3-master Redis Cluster: every key of one call carries the org's hash tag, so a
 * call never spans slots (Redis would answer CROSSSLOT), and different orgs spread over the masters.
 */
describe('RedisQuotaEngine on a 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  const clients: Cluster[] = [];
  const client = () => {
    const c = cluster.client();
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await cluster?.stop();
  });

  it('preloads the scripts on every master', async () => {
    const c = client();
    await new RedisQuotaEngine(c).load();
    const shas = ['reserve.lua', 'settle.lua'].map((name) =>
      createHash('sha1').update(readFileSync(new URL(`../../../src/quota/lua/${name}`, import.meta.url), 'utf8')).digest('hex'));
    expect(c.nodes('master')).toHaveLength(3);
    for (const master of c.nodes('master')) expect(await master.script('EXISTS', ...shas)).toEqual([1, 1]);
  });

  it('keeps all keys of one plan in one slot and spreads orgs over the masters', async () => {
    const c = client();
    const config = quotasConfig({
      limits: { key: { '*': { rpm: 10, tpm: 100 } }, app: { '*': { tpm: 100 } }, team: { '*': { tpm: 100 } }, org: { '*': { rpm: 10 } } },
      budgets: { team: { '*': { daily_usd: 1, monthly_usd: 2 } }, app: {}, user: { '*': { daily_usd: 1 } }, feature: { '*': { monthly_usd: 1 } } },
    });
    const owners = new Set<string>();
    for (let i = 0; i < 12; i += 1) {
      const plan = quotaPlan(config, freshTenant({ user: `user-${i}`, feature: 'summarize' }), Date.now());
      const keys = [...plan.buckets.map((b) => b.key), ...plan.budgets.flatMap((b) => [b.key, ...b.alertKeys])];
      expect(keys.length).toBeGreaterThan(15);
      const slots = new Set(await Promise.all(keys.map((key) => c.cluster('KEYSLOT', key))));
      expect(slots.size).toBe(1);
      const engine = new RedisQuotaEngine(c);
      expect((await engine.reserve(plan, { tokens: 5, nanoUsd: 1000 })).admitted).toBe(true);
      await engine.settle(plan, { tokens: 5, nanoUsd: 1000 }, { tokens: 3, nanoUsd: 700 });
      const slot = [...slots][0] as number;
      const owner = (await c.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
      owners.add(String(owner?.[2]?.[1]));
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  quotaEngineContract({
    engine: () => new RedisQuotaEngine(client()),
    now: () => Date.now(),
    refillSlack: (limit, elapsedMs) => Math.ceil((limit * (elapsedMs + 50)) / 60_000) + 1,
  });
});
