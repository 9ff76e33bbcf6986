import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { ADMIN_TOKEN, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgres-server.ts';
import { restartableRedis, type RestartableRedis } from '../helpers/restartable-redis.ts';

/** Small enough that a handful of requests use it up (gpt-4o-mini: $0.15 / $0.60 per 1M tokens in / out). */
const DAILY_USD = 0.0001;
const TEAM = 'acme/platform';
const MARKER = '{tg:acme}:quota:synced';
/** A config key: virtual keys live in Redis and go with it. */
const STATIC_KEY = 'tg-quota-rebuild-static-key';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  code: string | null;
  requestId: string;
}

/**
 * Budget counters after a Redis loss, through real Envoy + Tollgate + Redis (no persistence) + PostgreSQL: a team
 * spends its daily budget; Redis then loses everything (FLUSHALL, then a restart of an empty redis-server); the next
 * request is refused 429 insufficient_quota again, because the counters are rebuilt from the ledger before any
 * budget is decided on them. The admin endpoint does the same on demand and changes nothing when nothing was lost.
 */
describe('budget counters rebuilt from the ledger after a Redis loss', () => {
  let redis: RestartableRedis;
  let postgres: PostgresServerHandle;
  let store: RedisStore;
  let admin: Redis;
  let h: Harness;

  beforeAll(async () => {
    process.env.TEST_REBUILD_KEY = STATIC_KEY;
    [redis, postgres] = await Promise.all([restartableRedis(await freePort()), startPostgresServer()]);
    const ledgerUrl = await postgres.createDatabase('rebuild');
    store = new RedisStore({ url: redis.url });
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    const config = testConfig();
    config.keys = [{ key_env: 'TEST_REBUILD_KEY', org: 'acme', team: 'platform', app: 'playground' }];
    config.quotas = { default_max_tokens: 16, budgets: { team: { [TEAM]: { daily_usd: DAILY_USD } } } };
    config.ledger = { sink: { type: 'postgres', url: ledgerUrl }, flush_interval_ms: 20, stream: { claim_idle_ms: 1000 } };
    h = await startHarness({ config, store });
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    await store?.close();
    admin?.disconnect();
    await redis?.stop();
    await postgres?.stop();
    delete process.env.TEST_REBUILD_KEY;
  });

  async function chat(): Promise<Answer> {
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${STATIC_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'spend a little of the budget' }] }),
    });
    const body = (await response.json()) as { error?: { code: string; type: string; message: string; param: unknown } };
    if (response.status !== 200) expect(body.error).toEqual({ message: expect.any(String), type: expect.any(String), code: expect.any(String), param: null });
    return { status: response.status, code: body.error?.code ?? null, requestId: response.headers.get('x-tollgate-request-id') as string };
  }

  /** The team's spend today in the ledger, once every given request has its final record. */
  async function ledgerSpend(requestIds: string[]): Promise<bigint> {
    const ledger = h.tollgate.ledger;
    if (!ledger) throw new Error('no ledger');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const records = await Promise.all(requestIds.map((id) => ledger.sink.get(id)));
      if (records.every((r) => r?.state === 'final')) break;
      if (Date.now() > deadline) throw new Error('ledger records did not arrive');
      await sleep(25);
    }
    const day = new Date();
    const from = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
    const groups = await ledger.spendByScope('team', from, from + 86_400_000);
    return groups.find((g) => g.key.org === 'acme' && g.key.team === 'platform')?.costNanoUsd ?? 0n;
  }

  const settledCounter = async () => {
    const key = `{tg:acme}:budget:team:acme%2Fplatform:${new Date().toISOString().slice(0, 10)}`;
    return BigInt((await admin.hget(key, 's')) ?? '0');
  };

  const rebuild = (token = ADMIN_TOKEN) =>
    fetch(`${h.adminUrl}/admin/v1/quotas/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('spends the budget until 429 insufficient_quota', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 40; i += 1) {
      const answer = await chat();
      answers.push(answer);
      if (answer.status !== 200) break;
    }
    const last = answers.at(-1) as Answer;
    expect([last.status, last.code]).toEqual([429, 'insufficient_quota']);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(2);
    const spent = await ledgerSpend(answers.map((a) => a.requestId));
    expect(spent).toBeGreaterThan(0n);
    // Redis and the ledger agree before anything is lost.
    expect(await settledCounter()).toBe(spent);
    expect(await admin.exists(MARKER)).toBe(1);
  }, 60_000);

  it('the admin endpoint rebuilds on demand, admin token only, and changes nothing on a store that lost nothing', async () => {
    expect((await rebuild('wrong-token')).status).toBe(403);
    const before = await settledCounter();
    const response = await rebuild();
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'rebuilt', reason: 'admin request', raised: 0, counters: 1 });
    expect(await settledCounter()).toBe(before);
  });

  it('after FLUSHALL, the over-budget request is refused again, and the ledger keeps recording', async () => {
    const spent = await settledCounter();
    await admin.flushall();
    expect(await admin.exists(MARKER)).toBe(0);
    const answer = await chat();
    expect([answer.status, answer.code]).toEqual([429, 'insufficient_quota']);
    expect(await settledCounter()).toBe(spent);
    expect(await admin.exists(MARKER)).toBe(1);
    // The stream's consumer group went with the data: the ledger recreates it and records this request too.
    expect(await ledgerSpend([answer.requestId])).toBe(spent);
  }, 30_000);

  it('after a restart of Redis without persistence, the same', async () => {
    const spent = await settledCounter();
    await redis.kill();
    await redis.start();
    let answer = await chat();
    // The first request may still meet the reconnecting client (fail-closed 503 by default); the next one decides.
    for (let i = 0; i < 20 && answer.status === 503; i += 1) {
      await sleep(100);
      answer = await chat();
    }
    expect([answer.status, answer.code]).toEqual([429, 'insufficient_quota']);
    expect(await settledCounter()).toBe(spent);
    expect(await ledgerSpend([answer.requestId])).toBe(spent);
  }, 30_000);
});
