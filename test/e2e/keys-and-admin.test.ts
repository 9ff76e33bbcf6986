import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from '../helpers/gateway-harness.ts';

/** Virtual keys managed through the admin API take effect on the next request, without a restart. */
describe('virtual keys and the admin API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());

  const admin = (path: string, init: RequestInit = {}, token: string | null = ADMIN_TOKEN) =>
    fetch(`${h.adminUrl}/admin/v1${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
  const chat = (key: string) =>
    fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('guards the admin API: 401 without a token, 403 with a wrong one or a virtual key', async () => {
    expect((await admin('/keys', {}, null)).status).toBe(401);
    expect((await admin('/keys', {}, 'wrong')).status).toBe(403);
    expect((await admin('/keys', {}, h.key)).status).toBe(403);
    expect((await admin('/keys')).status).toBe(200);
  });

  it('creates a key that works at once, lists it without its secret, and revokes it', async () => {
    const created = await admin('/keys', { method: 'POST', body: JSON.stringify({ team: 'research', app: 'notebook', name: 'nb' }) });
    expect(created.status).toBe(201);
    const { key, record } = await created.json() as { key: string; record: { id: string; org: string } };
    expect(record.org).toBe('acme');
    expect((await chat(key)).status).toBe(200);

    const listing = await (await admin('/keys?team=research')).text();
    expect(listing).toContain(record.id);
    expect(listing).not.toContain(key);

    expect((await admin(`/keys/${record.id}/revoke`, { method: 'POST' })).status).toBe(200);
    const denied = await chat(key);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toContain('revoked');
  });

  it('rotates a key: old and new both work during the grace period', async () => {
    const { key: oldKey, record } = await (await admin('/keys', { method: 'POST', body: JSON.stringify({ team: 'platform', app: 'playground' }) })).json() as { key: string; record: { id: string } };
    const rotated = await admin(`/keys/${record.id}/rotate`, { method: 'POST', body: JSON.stringify({ grace_seconds: 1 }) });
    const { key: newKey } = await rotated.json() as { key: string };
    expect(newKey).not.toBe(oldKey);
    expect((await chat(oldKey)).status).toBe(200);
    expect((await chat(newKey)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1300));
    expect((await chat(oldKey)).status).toBe(401);
    expect((await chat(newKey)).status).toBe(200);
  });

  it('expires a key at the time set', async () => {
    const { key, record } = await (await admin('/keys', { method: 'POST', body: JSON.stringify({ team: 'platform', app: 'playground' }) })).json() as { key: string; record: { id: string } };
    expect((await chat(key)).status).toBe(200);
    const past = new Date(Date.now() - 1000).toISOString();
    expect((await admin(`/keys/${record.id}`, { method: 'PATCH', body: JSON.stringify({ expires_at: past }) })).status).toBe(200);
    const denied = await chat(key);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toContain('expired');
  });

  it('rejects keys for unknown tenants with 400 and unknown ids with 404', async () => {
    expect((await admin('/keys', { method: 'POST', body: JSON.stringify({ team: 'nope', app: 'x' }) })).status).toBe(400);
    expect((await admin('/keys/does-not-exist/revoke', { method: 'POST' })).status).toBe(404);
  });

  it('reports health of the store and serves metrics', async () => {
    const health = await (await fetch(`${h.adminUrl}/healthz`)).json() as { status: string; store: { status: string } };
    expect(health).toMatchObject({ status: 'ok', store: { status: 'ok' } });
    await chat(h.key);
    const metrics = await (await fetch(`${h.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_requests_total\{team="platform",model="gpt-4o-mini",provider="openai",status="200"\} \d+/);
    expect(metrics).toContain('tollgate_request_duration_seconds_bucket');
  });
});
