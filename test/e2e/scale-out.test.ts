import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envoyBinary, startEnvoy, waitForEnvoyReady, type EnvoyProcess } from '../../src/envoy/envoy-process.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { freePort } from '../helpers/free-port.ts';
import { startRedisServer } from '../helpers/redis-server.ts';

/**
 * Two Tollgate processes (`tollgate serve`) behind one Envoy, sharing a real Redis: a key created through one
 * process's admin API works on requests handled by either, and a revocation through the other stops it everywhere.
 */
const root = resolve(import.meta.dirname, '../..');
const ADMIN_TOKEN = 'scale-out-admin-token';
const PROVIDER_KEY = 'sk-scale-out-provider';

describe('two Tollgate processes behind one Envoy, one Redis', () => {
  let dir: string;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let fake: FakeOpenAI;
  let envoy: EnvoyProcess;
  const processes: ChildProcess[] = [];
  const admins: string[] = [];
  let baseUrl = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-scale-'));
    redis = await startRedisServer();
    fake = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const [listener, envoyAdmin, extprocA, extprocB, adminA, adminB] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const configPath = join(dir, 'tollgate.yaml');
    await writeFile(configPath, stringify({
      listener: { address: '127.0.0.1', port: listener },
      envoy: { admin: { address: '127.0.0.1', port: envoyAdmin }, config_dir: join(dir, 'envoy') },
      extproc: { address: '127.0.0.1', port: extprocA, endpoints: [{ address: '127.0.0.1', port: extprocA }, { address: '127.0.0.1', port: extprocB }] },
      admin: { address: '127.0.0.1', port: adminA, token_env: 'SCALE_ADMIN_TOKEN' },
      store: { type: 'redis', url_env: 'SCALE_REDIS_URL' },
      logging: { level: 'warn' },
      // These tests send dozens of revoked keys from 127.0.0.1 on purpose; the failed-authentication limit
      // (test/e2e/auth-failures.test.ts) would block the address after 20.
      auth: { failure_limit: { enabled: false } },
      providers: { openai: { type: 'openai', base_url: fake.url, api_key_env: 'SCALE_PROVIDER_KEY' } },
      models: { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' } },
      orgs: { acme: { teams: { platform: { apps: { playground: {} } } } } },
    }));
    const env = { ...process.env, SCALE_ADMIN_TOKEN: ADMIN_TOKEN, SCALE_REDIS_URL: redis.url, SCALE_PROVIDER_KEY: PROVIDER_KEY };
    for (const [extproc, admin] of [[extprocA, adminA], [extprocB, adminB]] as const) {
      const child = spawn(join(root, 'bin/tollgate'), ['serve', '--config', configPath, '--extproc-port', String(extproc), '--admin-port', String(admin)], { env, stdio: 'ignore' });
      processes.push(child);
      admins.push(`http://127.0.0.1:${admin}`);
    }
    for (const admin of admins) {
      const deadline = Date.now() + 20_000;
      while (!(await fetch(`${admin}/healthz`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline) throw new Error(`${admin} did not become healthy`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    envoy = startEnvoy({ binary: envoyBinary(root), configPath: join(dir, 'envoy/envoy.yaml') });
    await waitForEnvoyReady(`http://127.0.0.1:${envoyAdmin}`, envoy);
    baseUrl = `http://127.0.0.1:${listener}/v1`;
  });

  afterAll(async () => {
    await envoy?.stop();
    for (const child of processes) child.kill('SIGTERM');
    await fake?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const admin = (base: string, path: string, body?: unknown, method = 'POST') =>
    fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
  const chatStatuses = (key: string, count: number) => Promise.all(Array.from({ length: count }, () =>
    fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    }).then((r) => r.status)));
  /** Sends batches of 20 until every answer has this status; how long that took (ms). */
  const waitForStatuses = async (key: string, status: number, withinMs: number) => {
    const started = Date.now();
    while (Date.now() - started < withinMs) {
      if ((await chatStatuses(key, 20)).every((s) => s === status)) return Date.now() - started;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`requests did not all answer ${status} within ${withinMs} ms`);
  };
  const handledBy = async (base: string) => {
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    return [...metrics.matchAll(/^tollgate_requests_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it('shares keys through Redis: created on one process, revoked on the other, effective on both', async () => {
    const created = await admin(admins[0] as string, '/keys', { team: 'platform', app: 'playground' });
    const { key, record } = await created.json() as { key: string; record: { id: string } };
    expect(await chatStatuses(key, 40)).toEqual(Array(40).fill(200));
    // Envoy spread the ext_proc streams over both processes.
    expect(await handledBy(admins[0] as string)).toBeGreaterThan(0);
    expect(await handledBy(admins[1] as string)).toBeGreaterThan(0);

    // Both processes now hold the verified key in memory: further requests read no key from Redis.
    const probe = new Redis(redis.url);
    const keyReads = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await probe.info('commandstats'))?.[1] ?? 0);
    const readsBefore = await keyReads();
    expect(await chatStatuses(key, 40)).toEqual(Array(40).fill(200));
    expect(await keyReads()).toBe(readsBefore);
    probe.disconnect();

    expect((await admin(admins[1] as string, `/keys/${record.id}/revoke`)).status).toBe(200);
    // The revoking process published the change; the other dropped its cached copy as it arrived.
    expect(await waitForStatuses(key, 401, 500)).toBeLessThan(500);
    expect(await chatStatuses(key, 40)).toEqual(Array(40).fill(401));
  });

  it('a rotation without grace on one process cuts the old key off on both, and the new key works on both', async () => {
    const created = await admin(admins[0] as string, '/keys', { team: 'platform', app: 'playground' });
    const { key, record } = await created.json() as { key: string; record: { id: string } };
    expect(await chatStatuses(key, 20)).toEqual(Array(20).fill(200));
    const rotated = await admin(admins[1] as string, `/keys/${record.id}/rotate`, { grace_seconds: 0 });
    expect(rotated.status).toBe(200);
    const { key: next } = await rotated.json() as { key: string };
    expect(await waitForStatuses(key, 401, 500)).toBeLessThan(500);
    expect(await chatStatuses(next, 20)).toEqual(Array(20).fill(200));
  });

  it('applies a kill switch flipped on one process on every process within a second, and lifts it the same way', async () => {
    const created = await admin(admins[0] as string, '/keys', { team: 'platform', app: 'playground' });
    const { key } = await created.json() as { key: string };
    const waitForStatuses = async (status: number) => {
      const started = Date.now();
      while (Date.now() - started < 3000) {
        const statuses = await chatStatuses(key, 20);
        if (statuses.every((s) => s === status)) return Date.now() - started;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`requests did not all answer ${status} within 3 s`);
    };
    expect((await admin(admins[0] as string, '/kill-switches/model/gpt-4o-mini', { reason: 'incident 42' }, 'PUT')).status).toBe(200);
    // 20 requests spread over both processes all refused: the process that did not take the call learnt it too.
    expect(await waitForStatuses(503)).toBeLessThan(1000);
    const refused = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(await refused.json()).toMatchObject({ error: { code: 'model_disabled', type: 'api_error' } });
    const listed = await fetch(`${admins[1]}/admin/v1/kill-switches`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await listed.json()).toMatchObject({ data: [{ scope: 'model', name: 'gpt-4o-mini', reason: 'incident 42' }] });

    expect((await admin(admins[1] as string, '/kill-switches/model/gpt-4o-mini', undefined, 'DELETE')).status).toBe(200);
    expect(await waitForStatuses(200)).toBeLessThan(1000);
  });
});
