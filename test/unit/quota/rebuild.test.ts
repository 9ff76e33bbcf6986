import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigHolder } from '../../../src/config/config-holder.ts';
import { validateConfig } from '../../../src/config/load-config.ts';
import { PostgresSink } from '../../../src/ledger/postgres-sink.ts';
import { RedisStreamQueue } from '../../../src/ledger/redis-stream-queue.ts';
import { decodeRecord } from '../../../src/ledger/usage-record.ts';
import type { QuotaPlan } from '../../../src/quota/engine.ts';
import { quotaPlan } from '../../../src/quota/plan.ts';
import { BudgetRebuild } from '../../../src/quota/rebuild.ts';
import { RedisQuotaEngine } from '../../../src/quota/redis-engine.ts';
import { usePostgresServer } from '../../helpers/postgres-server.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { usageRecord } from '../ledger/records.ts';
import { freshTenant } from './engine-contract.ts';

const redis = useRedisServer();
const postgres = usePostgresServer();
const logger = pino({ level: 'silent' });

/** Budget counters rebuilt from a real PostgreSQL ledger into a real Redis (lua/rebuild.lua, quota/rebuild.ts). */
describe('budget counter rebuild', () => {
  let sink: PostgresSink;
  let client: Redis;
  const tenant = freshTenant();
  const config = new ConfigHolder(validateConfig({
    logging: { level: 'silent' },
    providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:1/v1' } },
    models: { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' } },
    orgs: { [tenant.org]: { teams: { platform: { apps: { playground: {} } } } } },
    quotas: { budgets: { team: { '*': { daily_usd: 1, monthly_usd: 10 } }, user: { '*': { daily_usd: 1 } } } },
  }));
  const plan = (): QuotaPlan => quotaPlan(config.catalog().config.quotas, { ...tenant, user: 'u1' }, Date.now());
  const counter = async (key: string) => {
    const [u, s] = await client.hmget(key, 'u', 's');
    return { u: Number(u ?? 0), s: Number(s ?? 0) };
  };

  beforeAll(async () => {
    sink = new PostgresSink({ url: await postgres.server.createDatabase('rebuild_unit') });
    await sink.migrate();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    client?.disconnect();
    await sink?.close();
  });

  const newRebuild = (engine: RedisQuotaEngine) => new BudgetRebuild({
    client, engine, config, logger,
    ledger: { spendByScope: (scope, from, to) => sink.aggregate({ groupBy: scope, from, to }) },
  });

  it('refuses to decide on lost counters, rebuilds them (daily, monthly, per scope), keeps reservations, counts nothing twice', async () => {
    const now = Date.now();
    const base = { org: tenant.org, team: 'platform', app: 'playground', startedAt: now - 1000, endedAt: now - 900 };
    // Closed records: 3000 + 4000 today for user u1; one record of last month that must not count; a pending row (no cost).
    await sink.write([
      usageRecord({ ...base, user: 'u1', costNanoUsd: 3000n }),
      usageRecord({ ...base, user: 'u1', costNanoUsd: 4000n }),
      usageRecord({ ...base, startedAt: now - 40 * 86_400_000, costNanoUsd: 999_000n }),
      usageRecord({ ...base, state: 'pending', costNanoUsd: null, status: null, outcome: 'pending' }),
    ]);
    const engine = new RedisQuotaEngine(client, { gateBudgets: true });
    const p = plan();
    const [teamDaily, teamMonthly, userDaily] = p.budgets.map((b) => b.key) as [string, string, string];
    expect(await engine.reserve(p, { tokens: 10, nanoUsd: 500 })).toMatchObject({ admitted: false, kind: 'unsynced', countersLost: true });
    expect(await counter(teamDaily)).toEqual({ u: 0, s: 0 });

    // A request admitted before the loss settles after it (its reservation went with Redis): 100 on empty counters.
    await engine.settle(p, { tokens: 10, nanoUsd: 800 }, { tokens: 5, nanoUsd: 100 });
    const report = await newRebuild(engine).rebuild('test');
    expect(report).toMatchObject({ status: 'rebuilt', counters: 3, raised: 3 });
    // max(100 in Redis, 7000 in the ledger): the ledger's sum; last month's record and the pending row do not count.
    expect(await counter(teamDaily)).toEqual({ u: 7000, s: 7000 });
    expect(await counter(teamMonthly)).toEqual({ u: 7000, s: 7000 });
    expect(await counter(userDaily)).toEqual({ u: 7000, s: 7000 });

    // Decided on the rebuilt counters now; its reservation survives another rebuild, which changes nothing else.
    expect(await engine.reserve(p, { tokens: 10, nanoUsd: 500 })).toMatchObject({ admitted: true });
    expect(await newRebuild(engine).rebuild('again')).toMatchObject({ status: 'rebuilt', raised: 0 });
    expect(await counter(teamDaily)).toEqual({ u: 7500, s: 7000 });
    // It settles once: 7000 + 300, its reservation released.
    await engine.settle(p, { tokens: 10, nanoUsd: 500 }, { tokens: 5, nanoUsd: 300 });
    expect(await counter(teamDaily)).toEqual({ u: 7300, s: 7300 });
    // The ledger learns of more spend (e.g. a budget configured mid-month): the counter is raised, reservations kept.
    await sink.write([usageRecord({ ...base, costNanoUsd: 10_000n })]);
    await engine.reserve(p, { tokens: 10, nanoUsd: 200 });
    await newRebuild(engine).rebuild('raise');
    expect(await counter(teamDaily)).toEqual({ u: 17_200, s: 17_000 });
  });

  it('lets one replica rebuild at a time (SET NX lock)', async () => {
    const engine = new RedisQuotaEngine(client, { gateBudgets: true });
    await client.set('tollgate:quota:rebuild-lock', 'someone-else', 'PX', 5000);
    try {
      expect(await newRebuild(engine).rebuild('test')).toEqual({ status: 'busy', reason: 'test' });
    } finally {
      await client.del('tollgate:quota:rebuild-lock');
    }
    expect(await newRebuild(engine).rebuild('test')).toMatchObject({ status: 'rebuilt' });
    expect(await client.exists('tollgate:quota:rebuild-lock')).toBe(0);
  });

  it('sends the ledger entry riding along with the reserve script in one network round trip', async () => {
    const stream = `tollgate:{ledger}:ride-${process.pid}`;
    const queue = new RedisStreamQueue({ client, stream, group: 'ledger', claimIdleMs: 30_000 });
    const engine = new RedisQuotaEngine(client, { gateBudgets: true });
    await engine.load();
    const record = usageRecord({ state: 'pending', org: tenant.org, costNanoUsd: null });
    const command = queue.entryCommand(record);
    const stats = async () => {
      const info = await redis.admin.info('all');
      const field = (name: string) => Number(new RegExp(`^${name}:(?:calls=)?(\\d+)`, 'm').exec(info)?.[1] ?? 0);
      return { reads: field('total_reads_processed'), evalsha: field('cmdstat_evalsha'), xadd: field('cmdstat_xadd') };
    };
    const before = await stats();
    let done: Error | null | undefined;
    expect(await engine.reserve(plan(), { tokens: 1, nanoUsd: 1 }, [{ args: command.args, done: (error) => (done = error) }])).toMatchObject({ admitted: true });
    const after = await stats();
    // Less the INFO call itself: the script and the XADD arrived in one read (one network round trip).
    expect(after.reads - before.reads - 1).toBe(1);
    expect([after.evalsha - before.evalsha, after.xadd - before.xadd]).toEqual([1, 1]);
    expect(done).toBeNull();
    const entries = await client.xrange(stream, '-', '+');
    expect(entries.map(([, fields]) => decodeRecord(fields[1] as string).requestId)).toEqual([record.requestId]);
    await queue.close();
  });
});
