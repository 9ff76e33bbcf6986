import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envoyBinary, startEnvoy, waitForEnvoyReady, type EnvoyProcess } from '../../src/envoy/envoy-process.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { freePort } from '../helpers/free-port.ts';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgres-server.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';

/**
 * The ledger's crash guarantee, end to end: `tollgate serve` (Redis store → Redis Stream queue, PostgreSQL ledger)
 * is SIGKILLed in the middle of a load; after a restart, every request the provider received has exactly one
 * record, none stays open, and finished requests carry the provider's real token counts.
 */
const root = resolve(import.meta.dirname, '../..');
const PROVIDER_KEY = 'sk-ledger-crash-provider';
const ADMIN_TOKEN = 'ledger-crash-admin-token';
const CLIENT_KEY = 'tg-ledger-crash-client-key';
const ORPHAN_TIMEOUT_MS = 4000;

interface Answer {
  requestId: string | null;
  status: number;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
}

describe('usage ledger across a crash of Tollgate', () => {
  let dir: string;
  let redis: RedisServerHandle;
  let postgres: PostgresServerHandle;
  let db: pg.Client;
  let fake: FakeOpenAI;
  let envoy: EnvoyProcess;
  let tollgate: ChildProcess | null = null;
  let configPath = '';
  let env: NodeJS.ProcessEnv = {};
  let adminUrl = '';
  let baseUrl = '';

  async function startTollgate(): Promise<ChildProcess> {
    const child = spawn(join(root, 'bin/tollgate'), ['serve', '--config', configPath], { env, stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    while (!(await fetch(`${adminUrl}/healthz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('tollgate serve did not become healthy');
      await new Promise((r) => setTimeout(r, 100));
    }
    return child;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-ledger-crash-'));
    [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
    const ledgerUrl = await postgres.createDatabase('ledger');
    db = new pg.Client({ connectionString: ledgerUrl });
    await db.connect();
    fake = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const [listener, envoyAdmin, extproc, admin] = await Promise.all(Array.from({ length: 4 }, () => freePort()));
    configPath = join(dir, 'tollgate.yaml');
    adminUrl = `http://127.0.0.1:${admin}`;
    const { createHash } = await import('node:crypto');
    await writeFile(configPath, stringify({
      listener: { address: '127.0.0.1', port: listener },
      envoy: { admin: { address: '127.0.0.1', port: envoyAdmin }, config_dir: join(dir, 'envoy') },
      extproc: { address: '127.0.0.1', port: extproc },
      admin: { address: '127.0.0.1', port: admin, token_env: 'CRASH_ADMIN_TOKEN' },
      store: { type: 'redis', url_env: 'CRASH_REDIS_URL' },
      logging: { level: 'warn' },
      providers: { openai: { type: 'openai', base_url: fake.url, api_key_env: 'CRASH_PROVIDER_KEY' } },
      models: { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' } },
      orgs: { acme: { teams: { platform: { apps: { playground: {} } } } } },
      keys: [{ sha256: createHash('sha256').update(CLIENT_KEY).digest('hex'), org: 'acme', team: 'platform', app: 'playground', name: 'crash' }],
      // Limits far above the load: the pending entry rides in the reserve script's round trip (quota stage).
      quotas: { limits: { team: { '*': { rpm: 1_000_000 } } }, budgets: { team: { '*': { daily_usd: 1000 } } } },
      ledger: {
        sink: { type: 'postgres', url_env: 'CRASH_LEDGER_URL' },
        stream: { claim_idle_ms: 1000 },
        flush_interval_ms: 50,
        orphan_timeout_ms: ORPHAN_TIMEOUT_MS,
        reconcile_interval_ms: 500,
      },
    }));
    env = { ...process.env, CRASH_ADMIN_TOKEN: ADMIN_TOKEN, CRASH_REDIS_URL: redis.url, CRASH_PROVIDER_KEY: PROVIDER_KEY, CRASH_LEDGER_URL: ledgerUrl };
    tollgate = await startTollgate();
    envoy = startEnvoy({ binary: envoyBinary(root), configPath: join(dir, 'envoy/envoy.yaml') });
    await waitForEnvoyReady(`http://127.0.0.1:${envoyAdmin}`, envoy);
    baseUrl = `http://127.0.0.1:${listener}/v1`;
  });

  afterAll(async () => {
    await envoy?.stop();
    tollgate?.kill('SIGTERM');
    await db?.end();
    await fake?.close();
    await redis?.stop();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function chat(index: number): Promise<Answer> {
    try {
      const response = await fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${CLIENT_KEY}`,
          'content-type': 'application/json',
          // Some requests are slow, so the kill finds them at the provider.
          ...(index % 3 === 0 ? { 'x-fake-fault': 'delay=400' } : {}),
        },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `request ${index} ${'word '.repeat(index % 17)}` }] }),
      });
      const body = (await response.json()) as { usage?: Answer['usage'] };
      return { requestId: response.headers.get('x-tollgate-request-id'), status: response.status, usage: body.usage ?? null };
    } catch {
      return { requestId: null, status: 0, usage: null };
    }
  }

  const rows = async () =>
    (await db.query<{ request_id: string; state: string; status: number | null; prompt_tokens: string; completion_tokens: string }>(
      'SELECT request_id, state, status, prompt_tokens, completion_tokens FROM usage_records',
    )).rows;

  it('gives every request the provider received exactly one closed record after a SIGKILL and a restart', async () => {
    const answers: Answer[] = [];
    let index = 0;
    let loading = true;
    const workers = Array.from({ length: 12 }, async () => {
      while (loading) answers.push(await chat(index++));
    });
    await new Promise((r) => setTimeout(r, 1500));
    const inFlightAtKill = fake.requests.length;
    tollgate?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    loading = false;
    await Promise.all(workers);
    tollgate = await startTollgate();
    // After the restart: more traffic, served normally.
    for (let i = 0; i < 20; i += 1) answers.push(await chat(index++));

    const received = new Set(fake.requests.map((r) => String(r.headers['x-client-request-id'])));
    expect(inFlightAtKill).toBeGreaterThan(20);
    expect(received.size).toBe(fake.requests.length);
    // Every admitted request has its record, and none stays open (orphans closed by the reconciler).
    const settled = async () => {
      const current = await rows();
      const ids = new Set(current.map((r) => r.request_id));
      return [...received].every((id) => ids.has(id)) && current.every((r) => r.state !== 'pending') ? current : null;
    };
    const deadline = Date.now() + ORPHAN_TIMEOUT_MS + 15_000;
    let final = await settled();
    while (!final && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      final = await settled();
    }
    const all = final ?? (await rows());
    const missing = [...received].filter((id) => !all.some((r) => r.request_id === id));
    expect(missing).toEqual([]);
    expect(all.filter((r) => r.state === 'pending')).toEqual([]);
    // One row per request id (the primary key), and no record of a request the provider never saw
    // (rejections before admission would have a final row with their error status, not a provider status).
    expect(new Set(all.map((r) => r.request_id)).size).toBe(all.length);

    // Finished requests carry the provider's real usage; the ones cut by the kill are closed as orphans.
    const byId = new Map(all.map((r) => [r.request_id, r]));
    const ok = answers.filter((a) => a.status === 200 && a.requestId && a.usage);
    expect(ok.length).toBeGreaterThan(30);
    let finals = 0;
    for (const answer of ok) {
      const row = byId.get(answer.requestId as string);
      expect(row, answer.requestId as string).toBeDefined();
      if (row?.state !== 'final') continue;
      finals += 1;
      expect([row.status, Number(row.prompt_tokens), Number(row.completion_tokens)])
        .toEqual([200, answer.usage?.prompt_tokens, answer.usage?.completion_tokens]);
    }
    // Only answers that ended in the instant before the kill may have lost their final entry.
    expect(finals).toBeGreaterThanOrEqual(ok.length - 12);
    expect(all.some((r) => r.state === 'orphaned')).toBe(true);

    // The queue is drained: nothing left unacknowledged in the stream.
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    expect(await client.xlen('tollgate:{ledger}:usage')).toBe(0);
    await client.quit();
  });
});
