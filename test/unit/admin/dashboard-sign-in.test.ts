import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DashboardSessions } from '../../../src/admin/dashboard-sessions.ts';
import { startAdminServer, type AdminServerDeps } from '../../../src/admin/server.ts';
import { SignInLimit } from '../../../src/admin/sign-in-limit.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { RedisStore } from '../../../src/store/redis-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';

const TOKEN = 'dashboard-admin-token';

describe('dashboard sessions and sign-in limit (memory store: in this process)', () => {
  it('keeps a session for its lifetime, ends it on sign-out, and ends every session when the admin token changes', async () => {
    let now = 1_000_000;
    const sessions = new DashboardSessions({ store: new MemoryStore({ now: () => now }) });
    const id = await sessions.open(TOKEN, 60_000);
    expect(id).toMatch(/^[\w-]{43}$/);
    expect(await sessions.valid(id, TOKEN)).toBe(true);
    expect(await sessions.valid(`${id}x`, TOKEN)).toBe(false);
    expect(await sessions.valid(undefined, TOKEN)).toBe(false);
    now += 59_999;
    expect(await sessions.valid(id, TOKEN)).toBe(true);
    now += 1;
    expect(await sessions.valid(id, TOKEN)).toBe(false);
    const other = await sessions.open(TOKEN, 60_000);
    expect(await sessions.valid(other, 'rotated-token')).toBe(false);
    expect(await sessions.valid(other, TOKEN)).toBe(false);
    const third = await sessions.open(TOKEN, 60_000);
    await sessions.close(third);
    expect(await sessions.valid(third, TOKEN)).toBe(false);
  });

  it('refuses a client after 5 failures in a minute, with the seconds left, then lets it try again', async () => {
    let now = 5_000_000;
    const limit = new SignInLimit({ store: new MemoryStore({ now: () => now }) });
    for (let i = 0; i < 5; i++) {
      expect(await limit.retryAfterSeconds('10.0.0.1')).toBeNull();
      await limit.recordFailure('10.0.0.1');
      now += 1000;
    }
    expect(await limit.retryAfterSeconds('10.0.0.1')).toBe(55);
    // Another address is not affected.
    expect(await limit.retryAfterSeconds('10.0.0.2')).toBeNull();
    now += 55_000;
    expect(await limit.retryAfterSeconds('10.0.0.1')).toBeNull();
  });
});

/**
 * Two admin servers (two Tollgate processes) sharing one real Redis: a session opened on one is valid on the other,
 * signing out on either ends it on both, and failed sign-ins count across both.
 */
describe('dashboard across two processes sharing Redis', () => {
  const redis = useRedisServer();
  const stores: Store[] = [];
  const servers: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    await redis.admin.flushall();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(stores.map((s) => s.close()));
  });

  async function adminServer(): Promise<string> {
    const store = new RedisStore({ url: redis.url });
    stores.push(store);
    const dashboard = { enabled: true, session_ttl_seconds: 600, secure_cookie: 'auto' as const };
    const deps = {
      address: '127.0.0.1', port: 0, adminToken: () => TOKEN, store, logger: pino({ level: 'silent' }),
      config: { catalog: () => ({ config: { admin: { dashboard }, quotas: { budgets: { team: {}, app: {}, user: {}, feature: {} } } } }) },
      ledger: { aggregate: async () => [] }, killSwitches: { list: async () => [] }, metrics: null,
    } as unknown as AdminServerDeps;
    const server = await startAdminServer(deps);
    servers.push(server);
    return `http://127.0.0.1:${server.port}`;
  }

  const signIn = (base: string, token: string) => fetch(`${base}/dashboard/login`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
  });
  const summary = (base: string, session: string) => fetch(`${base}/dashboard/api/summary`, { headers: { cookie: `tollgate_dashboard=${session}` } });

  it('signs in on one process and uses the session on the other; signing out on the other ends it on both', async () => {
    const [a, b] = [await adminServer(), await adminServer()] as [string, string];
    const reply = await signIn(a, TOKEN);
    expect(reply.status).toBe(303);
    const session = /tollgate_dashboard=([\w-]+)/.exec(reply.headers.get('set-cookie') ?? '')?.[1] as string;
    expect(session).toBeTruthy();
    expect((await summary(b, session)).status).toBe(200);
    expect((await summary(a, session)).status).toBe(200);
    // The store holds the session under its id's digest, never the id or the token, and with its lifetime as TTL.
    const keys = await redis.admin.keys('tollgate:dashboard:session:*');
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(session);
    expect(await redis.admin.get(keys[0] as string)).not.toContain(TOKEN);
    expect(await redis.admin.pttl(keys[0] as string)).toBeGreaterThan(590_000);
    const out = await fetch(`${b}/dashboard/logout`, { method: 'POST', redirect: 'manual', headers: { origin: b, cookie: `tollgate_dashboard=${session}` } });
    expect(out.status).toBe(303);
    expect((await summary(a, session)).status).toBe(401);
  });

  it('counts failed sign-ins across both: the sixth within a minute gets 429 with Retry-After, even with the right token', async () => {
    const [a, b] = [await adminServer(), await adminServer()] as [string, string];
    for (const base of [a, b, a, b, a]) expect((await signIn(base, 'wrong')).status).toBe(401);
    const limited = await signIn(b, TOKEN);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('set-cookie')).toBeNull();
    expect(await limited.text()).toContain('Too many failed sign-ins');
    expect((await signIn(a, 'wrong')).status).toBe(429);
    // Once the window is over (here: its key expired early), the right token works again.
    for (const key of await redis.admin.keys('tollgate:dashboard:sign-in-failures:*')) await redis.admin.del(key);
    expect((await signIn(a, TOKEN)).status).toBe(303);
  });
});
