import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';
import { validateConfig } from '../../../src/config/load-config.ts';
import { DEFAULT_FORWARD_HEADERS } from '../../../src/config/schema.ts';
import { freePort } from '../../helpers/free-port.ts';
import { startPostgresServer, type PostgresServerHandle } from '../../helpers/postgres-server.ts';
import { restartableRedis, type RestartableRedis } from '../../helpers/restartable-redis.ts';
import { planFullStages } from '../peers/tollgate-stages.ts';
import { ProcessGroup, startEnvoyAt, startTollgateServe, startWatched, type RunningEnvoy, type WatchedProcess } from './processes.ts';

/**
 * The whole deployment for the soak and chaos harnesses, every process its own OS process so that each can be
 * killed: Envoy + one or more `tollgate serve` (every stage on: policy bundle, quotas and budgets in Redis, exact
 * cache in Redis, ledger through the Redis Stream into PostgreSQL) + redis-server (restartable on its port, AOF
 * when asked) + PostgreSQL (restartable on its data directory) + the strict fake OpenAI provider on a fixed port.
 */

export const VIRTUAL_KEY = 'tg-soak-virtual-key-0123456789';
export const PROVIDER_KEY = 'sk-soak-provider-key';
export const ADMIN_TOKEN = 'soak-admin-token';
export const MODEL = 'gpt-4o-mini';
/** A tenant that policies/data.json has rules for, so the policy evaluates for real. */
export const TENANT = { org: 'acme', team: 'research', app: 'bench' };

export interface RigOptions {
  projectRoot: string;
  dir: string;
  /** Tollgate processes behind the one Envoy (default 1). */
  tollgates?: number;
  /** redis-server with appendonly + appendfsync always (the ledger queue survives a SIGKILL of Redis). */
  redisAof?: boolean;
  /** Envoy's route timeout for one attempt (a hung provider ends in a 504 after it). */
  upstreamTimeoutMs?: number;
  orphanTimeoutMs?: number;
  logLevel?: string;
}

export interface TollgateProcess {
  index: number;
  process: WatchedProcess;
  adminUrl: string;
}

export interface Rig {
  origin: string;
  headers: Record<string, string>;
  redis: RestartableRedis;
  postgres: PostgresServerHandle;
  db: pg.Pool;
  fake: WatchedProcess;
  envoy: RunningEnvoy;
  tollgates: (TollgateProcess | null)[];
  /** Starts (or starts again) Tollgate process `index` on its own ports. */
  startTollgate(index: number): Promise<TollgateProcess>;
  killTollgate(index: number): Promise<void>;
  startFake(): Promise<WatchedProcess>;
  killFake(): Promise<void>;
  /** pids of every process (for RSS/CPU), by role. */
  pids(): Record<string, number[]>;
  config: Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const group = new ProcessGroup();
  const count = options.tollgates ?? 1;
  await mkdir(options.dir, { recursive: true });
  const redisPort = await freePort();
  const redisDir = join(options.dir, 'redis');
  await mkdir(redisDir, { recursive: true });
  const redis = await restartableRedis(redisPort, options.redisAof ? { args: ['--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'always'] } : {});
  group.add({ stop: () => redis.stop() });
  // Crash-safe settings: a chaos run SIGKILLs it and counts the records that survived.
  const postgres = await startPostgresServer({ durable: true });
  group.add({ stop: () => postgres.stop() });
  const ledgerUrl = await postgres.createDatabase('ledger');

  const fakePort = await freePort();
  const fakeUrl = `http://127.0.0.1:${fakePort}/v1`;
  let fake: WatchedProcess | null = null;
  const startFake = async () => {
    const started = await startWatched({
      command: process.execPath,
      args: ['--no-warnings=ExperimentalWarning', join(options.projectRoot, 'test/fakes/openai-provider.ts'), '--port', String(fakePort), '--no-record', '--api-key', PROVIDER_KEY],
      cwd: options.projectRoot,
      readyLine: /^FAKE_OPENAI_URL=(\S+)/,
    });
    fake = started;
    return started;
  };
  await startFake();
  group.add({ stop: async () => { await fake?.stop(); } });

  const ports = { listener: await freePort(), envoyAdmin: await freePort() };
  const tollgatePorts: { extproc: number; admin: number }[] = [];
  for (let i = 0; i < count; i++) tollgatePorts.push({ extproc: await freePort(), admin: await freePort() });
  const first = tollgatePorts[0] as { extproc: number; admin: number };
  const envoyDir = join(options.dir, 'envoy');
  const config: Record<string, unknown> = {
    listener: { address: '127.0.0.1', port: ports.listener },
    envoy: {
      admin: { address: '127.0.0.1', port: ports.envoyAdmin }, config_dir: envoyDir,
      upstream_timeout_ms: options.upstreamTimeoutMs ?? 5000,
    },
    extproc: {
      address: '127.0.0.1', port: first.extproc,
      ...(count > 1 ? { endpoints: tollgatePorts.map((p) => ({ address: '127.0.0.1', port: p.extproc })) } : {}),
    },
    admin: { address: '127.0.0.1', port: first.admin, token_env: 'SOAK_ADMIN_TOKEN' },
    store: { type: 'redis', url_env: 'SOAK_REDIS_URL' },
    logging: { level: options.logLevel ?? 'warn' },
    requests: { forward_headers: [...DEFAULT_FORWARD_HEADERS, 'x-fake-fault', 'x-fake-chunk-delay-ms'] },
    providers: { openai: { type: 'openai', base_url: fakeUrl, api_key_env: 'SOAK_PROVIDER_KEY' } },
    models: { [MODEL]: { provider: 'openai', kind: 'chat' } },
    orgs: { [TENANT.org]: { teams: { [TENANT.team]: { apps: { [TENANT.app]: {} } } } } },
    keys: [{ key_env: 'SOAK_VIRTUAL_KEY', ...TENANT, name: 'soak' }],
  };
  const plan = planFullStages({ projectRoot: options.projectRoot, dir: options.dir }, config);
  if (plan.rejected.length) throw new Error(`stages rejected: ${JSON.stringify(plan.rejected)}`);
  Object.assign(config, plan.sections);
  // The ledger goes to PostgreSQL (the bench's stage plan uses SQLite); a killed process's entries are claimed fast.
  config.ledger = {
    sink: { type: 'postgres', url_env: 'SOAK_LEDGER_URL' },
    stream: { claim_idle_ms: 1000 },
    flush_interval_ms: 50,
    orphan_timeout_ms: options.orphanTimeoutMs ?? 30_000,
    reconcile_interval_ms: 1000,
  };
  validateConfig(structuredClone(config), 'soak rig');
  const configPath = join(options.dir, 'tollgate.yaml');
  await writeFile(configPath, stringify(config));
  const env: NodeJS.ProcessEnv = {
    ...process.env, SOAK_ADMIN_TOKEN: ADMIN_TOKEN, SOAK_REDIS_URL: redis.url, SOAK_PROVIDER_KEY: PROVIDER_KEY,
    SOAK_VIRTUAL_KEY: VIRTUAL_KEY, SOAK_LEDGER_URL: ledgerUrl,
  };

  const tollgates: (TollgateProcess | null)[] = Array.from({ length: count }, () => null);
  let restarts = 0;
  const startTollgate = async (index: number): Promise<TollgateProcess> => {
    const p = tollgatePorts[index];
    if (!p) throw new Error(`no Tollgate process ${index}`);
    const adminUrl = `http://127.0.0.1:${p.admin}`;
    const started = await startTollgateServe({
      projectRoot: options.projectRoot, configPath, adminUrl, env,
      logFile: join(options.dir, `tollgate-${index + 1}${restarts ? `-r${restarts}` : ''}.log`),
      serveArgs: ['--extproc-port', String(p.extproc), '--admin-port', String(p.admin)],
    });
    restarts += 1;
    const handle = { index, process: started, adminUrl };
    tollgates[index] = handle;
    return handle;
  };
  const killTollgate = async (index: number) => {
    const handle = tollgates[index];
    if (!handle) return;
    tollgates[index] = null;
    process.kill(handle.process.pid, 'SIGKILL');
    await handle.process.exited.catch(() => undefined);
    await handle.process.stop().catch(() => undefined);
  };
  for (let i = 0; i < count; i++) await startTollgate(i);
  group.add({ stop: async () => { for (const t of tollgates) await t?.process.stop(); } });
  const envoy = group.add(await startEnvoyAt(options.projectRoot, join(envoyDir, 'envoy.yaml'), ports.envoyAdmin));
  const db = new pg.Pool({ connectionString: ledgerUrl, max: 2 });
  db.on('error', () => undefined);

  return {
    origin: `http://127.0.0.1:${ports.listener}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${VIRTUAL_KEY}` },
    redis, postgres, db, envoy, tollgates, config,
    get fake() { return fake as WatchedProcess; },
    startTollgate, killTollgate,
    startFake,
    async killFake() {
      const running = fake;
      fake = null;
      if (!running) return;
      process.kill(running.pid, 'SIGKILL');
      await running.exited.catch(() => undefined);
      await running.stop().catch(() => undefined);
    },
    pids: () => ({
      tollgate: tollgates.flatMap((t) => (t ? [t.process.pid] : [])),
      envoy: [envoy.pid],
      redis: redis.pid === null ? [] : [redis.pid],
      postgres: [postgres.pid],
      fake: fake ? [fake.pid] : [],
    }),
    async stop() {
      await db.end().catch(() => undefined);
      await group.stopAll();
    },
  };
}

// ───────────────────────────────────────────────────────────────── checks after a drain

export interface LedgerSummary {
  rows: number;
  byState: Record<string, number>;
  byStatus: Record<string, number>;
  /** Request ids seen by clients (x-tollgate-request-id) with no row. */
  missingIds: string[];
  costNanoUsd: string;
}

export async function ledgerSummary(db: pg.Pool, seenIds: Iterable<string>): Promise<LedgerSummary> {
  const { rows } = await db.query<{ request_id: string; state: string; status: number | null }>('SELECT request_id, state, status FROM usage_records');
  const ids = new Set(rows.map((r) => r.request_id));
  const byState: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const row of rows) {
    byState[row.state] = (byState[row.state] ?? 0) + 1;
    const status = String(row.status ?? 'none');
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  const missingIds = [...seenIds].filter((id) => !ids.has(id));
  const cost = await db.query<{ sum: string | null }>('SELECT sum(cost_nano_usd)::text AS sum FROM usage_records');
  return { rows: rows.length, byState, byStatus, missingIds, costNanoUsd: cost.rows[0]?.sum ?? '0' };
}

/** Polls until every seen id has a final row and the row count reaches `expectedRows` (or the timeout). */
export async function waitForLedger(db: pg.Pool, seenIds: Set<string>, expectedRows: number, timeoutMs: number): Promise<LedgerSummary> {
  const deadline = Date.now() + timeoutMs;
  let last = await ledgerSummary(db, seenIds).catch(() => null);
  while (Date.now() < deadline) {
    if (last && last.rows >= expectedRows && last.missingIds.length === 0 && (last.byState.final ?? 0) === last.rows) return last;
    await new Promise((r) => setTimeout(r, 500));
    last = await ledgerSummary(db, seenIds).catch(() => last);
  }
  if (!last) throw new Error('the ledger database did not answer');
  return last;
}

export interface BudgetCounter {
  key: string;
  /** settled + reserved nano-USD */
  used: number;
  settled: number;
}

/**
 * Every budget counter in Redis (hashes {u, s}: u = settled + reserved, s = settled, see src/quota/lua/reserve.lua):
 * after a drain u - s is what is still reserved, i.e. leaked reservations.
 */
export async function budgetCounters(redisUrl: string): Promise<BudgetCounter[]> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const out: BudgetCounter[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', '{tg:*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        if ((await client.type(key)) !== 'hash') continue;
        const [u, s] = await client.hmget(key, 'u', 's');
        if (u === null && s === null) continue;
        out.push({ key, used: Number(u ?? 0), settled: Number(s ?? 0) });
      }
    } while (cursor !== '0');
    return out.sort((a, b) => a.key.localeCompare(b.key));
  } finally {
    client.disconnect();
  }
}

/** The ledger stream's length and its consumer groups' pending entries (0 and 0 once everything is written). */
export async function ledgerQueue(redisUrl: string): Promise<{ length: number; pending: number }> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const key = 'tollgate:{ledger}:usage';
    const length = await client.xlen(key);
    let pending = 0;
    if (length > 0 || (await client.exists(key))) {
      const groups = (await client.xinfo('GROUPS', key)) as unknown[][];
      for (const group of groups) {
        const at = group.indexOf('pending');
        pending += Number(group[at + 1] ?? 0);
      }
    }
    return { length, pending };
  } finally {
    client.disconnect();
  }
}
