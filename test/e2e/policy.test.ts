import { copyFile, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { ADMIN_TOKEN, PLACEHOLDER_URL, PROVIDER_KEY, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { buildPolicyBundle } from '../helpers/policy-bundle.ts';

const ALL_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** A UTC offset (minutes) at which the local time is `hour`:00 right now, so business-hours tests need no fake clock. */
function offsetForLocalHour(hour: number): number {
  const now = new Date();
  return hour * 60 - (now.getUTCHours() * 60 + now.getUTCMinutes());
}

/** Tenant data for these tests: the shipped rules, with teams that exist in this gateway's config. */
function policyData(platformMaxTokens: number | null = null) {
  return {
    tenants: {
      defaults: { redact: ['secret'], forbid_cache_with_pii: true },
      business_hours: {
        open_now: { utc_offset_minutes: offsetForLocalHour(12), days: ALL_DAYS, start: '08:00', end: '18:00' },
        closed_now: { utc_offset_minutes: offsetForLocalHour(23), days: ALL_DAYS, start: '08:00', end: '18:00' },
      },
      orgs: {
        acme: {
          teams: {
            platform: { redact: ['email', 'phone'], ...(platformMaxTokens ? { max_tokens: platformMaxTokens } : {}) },
            support: { redact: ['email', 'phone'], redact_mode: 'reversible' },
            finance: { required_vendor: 'openai', required_region: 'eu' },
            // Only OpenAI-type providers exist here; the Anthropic variant is covered through the WASM evaluator.
            hr: { pii_blocked_vendors: ['openai'] },
            research: { models: ['gpt-4o-mini'], max_tokens: 64 },
            dayshift: { business_hours: 'open_now' },
            nightshift: { business_hours: 'closed_now' },
          },
        },
      },
    },
  };
}

const app = { apps: { app: {} } };

describe('policy as code, end to end through Envoy', () => {
  let h: Harness;
  let eu: FakeOpenAI;
  let dir: string;
  let bundlePath: string;
  let auditPath: string;
  let bundleA: string;
  let bundleB: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-e2e-'));
    bundleA = await buildPolicyBundle({ data: policyData() }, join(dir, 'a', 'bundle.tar.gz'));
    bundleB = await buildPolicyBundle({ data: policyData(1000) }, join(dir, 'b', 'bundle.tar.gz'));
    bundlePath = join(dir, 'live', 'bundle.tar.gz');
    await buildPolicyBundle({ data: policyData() }, bundlePath);
    auditPath = join(dir, 'audit', 'decisions.jsonl');
    eu = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    h = await startHarness({
      config: {
        logging: { level: 'silent' },
        providers: {
          'openai-us': { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', region: 'us' },
          'openai-eu': { type: 'openai', base_url: eu.url, api_key_env: 'TEST_OPENAI_KEY', region: 'eu' },
        },
        models: {
          'gpt-4o': { targets: [{ provider: 'openai-us', model: 'gpt-4o' }, { provider: 'openai-eu', model: 'gpt-4o' }] },
          'gpt-4o-mini': { provider: 'openai-us' },
        },
        orgs: { acme: { teams: { platform: { apps: { playground: {} } }, finance: app, hr: app, research: app, dayshift: app, nightshift: app, support: app } } },
        policy: { bundle: bundlePath, audit_log: auditPath, watch: true },
      },
    });
    for (const team of ['finance', 'hr', 'research', 'dayshift', 'nightshift', 'support']) keys[team] = await h.createKey(team, 'app');
    keys.platform = h.key;
  });
  afterAll(async () => {
    await h?.stop();
    await eu?.close();
  });

  async function chat(team: string, body: Record<string, unknown>) {
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[team]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
  }
  const say = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra });
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${h.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers } });
  const health = async () => (await (await fetch(`${h.adminUrl}/healthz`)).json()) as { policy: { revision: string; status: string } };

  it('finance must stay in the EU: the EU provider answers, the US one (first in the chain) is never contacted', async () => {
    h.fake.reset();
    eu.reset();
    const { status, headers } = await chat('finance', say('Q3 forecast'));
    expect(status).toBe(200);
    expect(headers.get('x-tollgate-provider')).toBe('openai-eu');
    expect(eu.requestCount).toBe(1);
    expect(h.fake.requestCount).toBe(0);
    // Without the constraint the chain starts in the US.
    const other = await chat('platform', say('hello'));
    expect(other.headers.get('x-tollgate-provider')).toBe('openai-us');
  });

  it('masks PII before any provider sees it', async () => {
    h.fake.reset();
    const prompt = 'Mail jane.doe@acme-corp.com, call 0912 345 678, key sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a, card 4111 1111 1111 1111';
    const { status, json } = await chat('platform', say(prompt));
    expect(status).toBe(200);
    const expected = 'Mail [REDACTED_EMAIL], call [REDACTED_PHONE], key [REDACTED_SECRET], card 4111 1111 1111 1111';
    expect(json.choices[0].message.content).toBe(`Echo: ${expected}`);
    const seen = JSON.stringify(h.fake.requests.at(-1)?.body);
    expect(seen).toContain(expected);
    expect(seen).not.toContain('jane.doe');
  });

  it('reversible redaction: the provider sees numbered placeholders, the caller gets its values back (JSON and stream)', async () => {
    h.fake.reset();
    const prompt = 'Mail jane.doe@acme-corp.com and lan@vinamilk.com.vn, call 0912 345 678, then mail jane.doe@acme-corp.com again';
    const { status, json } = await chat('support', say(prompt));
    expect(status).toBe(200);
    expect(json.choices[0].message.content).toBe(`Echo: ${prompt}`);
    const seen = JSON.stringify(h.fake.requests.at(-1)?.body);
    expect(seen).toContain('Mail [EMAIL_1] and [EMAIL_2], call [PHONE_1], then mail [EMAIL_1] again');
    expect(seen).not.toContain('acme-corp');

    const stream = await h.client(keys.support).chat.completions.create({ ...say(prompt), stream: true } as never) as unknown as AsyncIterable<{ choices: Array<{ delta?: { content?: string } }> }>;
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
    expect(content).toBe(`Echo: ${prompt}`);
    expect(JSON.stringify(h.fake.requests.at(-1)?.body)).not.toContain('vinamilk');
  });

  it('a team that may not send PII to a vendor gets 403 with the reason when only that vendor serves', async () => {
    h.fake.reset();
    eu.reset();
    const denied = await chat('hr', say('Write to jane.doe@acme-corp.com'));
    expect(denied.status).toBe(403);
    expect(denied.json).toEqual({
      error: {
        message: 'No provider may serve `gpt-4o` for this request: team hr may not send personal data (email) to openai.',
        type: 'permission_error', code: 'no_allowed_provider', param: 'model',
      },
    });
    expect(h.fake.requestCount + eu.requestCount).toBe(0);
    expect((await chat('hr', say('Write a welcome note'))).status).toBe(200);
  });

  it('a model outside the team allow-list is denied with the policy reason; an allowed one gets capped max_tokens', async () => {
    h.fake.reset();
    const denied = await chat('research', say('hi'));
    expect(denied.status).toBe(403);
    expect(denied.json).toEqual({
      error: { message: 'Request denied by policy: team research may not use model gpt-4o.', type: 'permission_error', code: 'policy_denied', param: null },
    });
    expect(denied.headers.get('x-tollgate-decision-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.fake.requestCount).toBe(0);

    const allowed = await chat('research', { ...say('hi', { max_tokens: 500 }), model: 'gpt-4o-mini' });
    expect(allowed.status).toBe(200);
    expect((h.fake.requests.at(-1)?.body as { max_tokens: number }).max_tokens).toBe(64);
  });

  it('business hours: the open team is served, the closed one refused', async () => {
    expect((await chat('dayshift', say('hi'))).status).toBe(200);
    const closed = await chat('nightshift', say('hi'));
    expect(closed.status).toBe(403);
    expect(closed.json.error.message).toContain('team nightshift may call models only during business hours');
  });

  it('the official SDK sees a policy denial as a 403 PermissionDeniedError', async () => {
    const error = await h.client(keys.research).chat.completions.create(say('hi') as never).catch((e: unknown) => e) as { status: number; code: string };
    expect(error.status).toBe(403);
    expect(error.code).toBe('policy_denied');
  });

  it('applies the same policy to the Responses API: redaction (reversible too), denial, max_tokens cap', async () => {
    h.fake.reset();
    const masked = await h.client(keys.platform).responses.create({ model: 'gpt-4o', input: 'Mail jane.doe@acme-corp.com today' });
    expect(masked.output_text).toBe('Echo: Mail [REDACTED_EMAIL] today');
    expect(JSON.stringify(h.fake.requests.at(-1)?.body)).not.toContain('jane.doe');

    const prompt = 'Mail jane.doe@acme-corp.com and call 0912 345 678';
    const restored = await h.client(keys.support).responses.stream({ model: 'gpt-4o', input: prompt }).finalResponse();
    expect(restored.output_text).toBe(`Echo: ${prompt}`);
    expect(JSON.stringify(h.fake.requests.at(-1)?.body)).toContain('Mail [EMAIL_1] and call [PHONE_1]');

    const denied = await h.client(keys.research).responses.create({ model: 'gpt-4o', input: 'hi' }).catch((e: unknown) => e) as { status: number; code: string };
    expect(denied).toMatchObject({ status: 403, code: 'policy_denied' });
    await h.client(keys.research).responses.create({ model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 500 });
    expect((h.fake.requests.at(-1)?.body as { max_tokens: number }).max_tokens).toBe(64);
  });

  it('records every decision in the audit log, readable with filters, without prompt text', async () => {
    const { headers } = await chat('platform', say('audit me: jane.doe@acme-corp.com'));
    const requestId = headers.get('x-tollgate-request-id') as string;
    const byRequest = await (await admin(`/admin/v1/decisions?request_id=${requestId}`)).json() as { data: Array<Record<string, any>> };
    expect(byRequest.data).toHaveLength(1);
    expect(byRequest.data[0]).toMatchObject({
      request_id: requestId,
      revision: (await health()).policy.revision,
      decision: 'allow',
      tenant: { org: 'acme', team: 'platform', app: 'playground' },
      pii: { total: 1, types: { email: 1 } },
      result: { redact: ['email'], cache: 'forbid', allowed_providers: ['openai-us', 'openai-eu'] },
    });
    expect(byRequest.data[0]?.input_digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const denials = await (await admin('/admin/v1/decisions?decision=deny&team=research&limit=1')).json() as { data: Array<Record<string, any>>; has_more: boolean };
    expect(denials.data[0]).toMatchObject({ decision: 'deny', reasons: ['team research may not use model gpt-4o'] });
    expect(denials.has_more).toBe(true);

    expect((await fetch(`${h.adminUrl}/admin/v1/decisions`)).status).toBe(401);
    expect((await admin('/admin/v1/decisions?decision=maybe')).status).toBe(400);
    const log = await readFile(auditPath, 'utf8');
    for (const text of ['jane.doe', 'audit me', 'sk-proj', '0912 345']) expect(log).not.toContain(text);
  });

  it('rejects an invalid bundle with a clear error and keeps serving with the old one', async () => {
    const running = (await health()).policy.revision;
    await writeFile(join(dir, 'broken.tmp'), 'not a bundle');
    await rename(join(dir, 'broken.tmp'), bundlePath);
    const reload = await admin('/admin/v1/policies/reload', { method: 'POST' });
    expect(reload.status).toBe(400);
    const body = await reload.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_policy_bundle');
    expect(body.error.message).toContain(`invalid policy bundle ${bundlePath}: not a policy bundle`);
    expect((await chat('platform', say('still served'))).status).toBe(200);
    expect(await health()).toMatchObject({ policy: { revision: running, status: 'stale' } });
    expect(await (await admin('/admin/v1/policies')).json()).toMatchObject({ revision: running, last_error: { message: body.error.message } });
    await copyFile(bundleA, bundlePath);
    expect(await (await admin('/admin/v1/policies/reload', { method: 'POST' })).json()).toMatchObject({ revision: running });
  });

  it('swaps bundles 20 times under load (file change and admin API) without a failed request', async () => {
    const revisions = new Set<string>();
    let stop = false;
    const statuses: number[] = [];
    const requestIds: string[] = [];
    const answeredAtSwap: number[] = [];
    let lastRevision = '';
    // Load runs until the last swap is done (and at least 300 requests have been answered).
    async function worker() {
      while (!stop || statuses.length < 300) {
        const { status, headers } = await chat('platform', say(`load ${statuses.length}`));
        statuses.push(status);
        requestIds.push(headers.get('x-tollgate-request-id') as string);
      }
    }
    const workers = Array.from({ length: 8 }, () => worker());
    for (let i = 0; i < 20; i += 1) {
      const next = i % 2 === 0 ? bundleB : bundleA;
      await copyFile(next, `${bundlePath}.tmp`);
      await rename(`${bundlePath}.tmp`, bundlePath);
      if (i % 4 === 1) {
        // Half of the swaps through the admin API (the watcher may already have picked the file up: changed false then).
        const reply = await admin('/admin/v1/policies/reload', { method: 'POST' });
        expect(reply.status).toBe(200);
      }
      // Each swap installs the other bundle: wait until the gateway reports a new revision (the file watcher may take
      // a moment on a busy machine), while the load keeps flowing.
      const deadline = Date.now() + 5000;
      let current = (await health()).policy.revision as string;
      while (i > 0 && current === lastRevision && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        current = (await health()).policy.revision;
      }
      lastRevision = current;
      revisions.add(current);
      await new Promise((r) => setTimeout(r, 40));
      answeredAtSwap.push(statuses.length);
    }
    stop = true;
    await Promise.all(workers);
    expect(statuses.length).toBeGreaterThanOrEqual(300);
    // Requests were answered between every two swaps: the reloads happened under load.
    expect(answeredAtSwap.every((count, i) => i === 0 || count > (answeredAtSwap[i - 1] as number))).toBe(true);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(revisions.size).toBe(2);
    // Both bundles decided some of these requests.
    const decided = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = await (await admin(`/admin/v1/decisions?team=platform&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json() as { data: Array<{ request_id: string; revision: string }>; next_cursor: string | null };
      for (const record of page.data) if (requestIds.includes(record.request_id)) decided.add(record.revision);
      cursor = page.next_cursor;
    } while (cursor);
    expect(decided).toEqual(revisions);
  });
});
