import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/ledger/usage-record.ts';
import { ADMIN_TOKEN, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { usePostgresServer } from '../helpers/postgres-server.ts';

/** Debian's chromium (scripts/setup installs it); playwright-core drives it, nothing is downloaded. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = resolve(import.meta.dirname, '../../docs/screenshots');
const HOUR = 3_600_000;

function record(id: string, fields: Partial<UsageRecord>): UsageRecord {
  const startedAt = fields.startedAt ?? Date.now() - HOUR;
  return {
    requestId: id, state: 'final', startedAt, endedAt: startedAt + 500, org: 'acme', team: 'research', app: 'notebook',
    user: null, feature: null, keyId: 'k1', endpoint: 'chat', model: 'gpt-4o-mini', variant: null, provider: 'openai',
    upstreamModel: 'gpt-4o-mini', attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200 }], stream: false,
    promptTokens: 100, completionTokens: 50, cachedPromptTokens: 0, cacheWriteTokens: 0, costNanoUsd: 0n, pricingId: 'p',
    latencyMs: 500, status: 200, outcome: 'completed', errorCode: null, cacheStatus: null, traceId: null, reasoningTokens: 0, ...fields,
  };
}

/**
 * The usage dashboard in headless Chromium against a real gateway (Envoy + Tollgate + a SQLite or a PostgreSQL ledger,
 * each with its summary tables and triggers): sign-in with
 * a session cookie, numbers equal to the ledger's for a team filter, the views' screenshots, an axe-core check and
 * keyboard navigation; and the sign-in's cookie and CSRF rules over raw HTTP.
 */
const postgres = usePostgresServer();

describe.each(['sqlite', 'postgres'] as const)('usage dashboard (%s ledger)', (ledgerKind) => {
  let harness: Harness;
  let dir: string;
  let browser: Browser;
  /** What the real cache hit saved, as its ledger record says. */
  let hitSaved = 0n;
  const known = [
    record('r1', { team: 'research', user: 'ada', feature: 'search', costNanoUsd: 1_250_000_000n, promptTokens: 1000, completionTokens: 200, latencyMs: 400 }),
    record('r2', { team: 'research', user: 'ada', feature: 'search', costNanoUsd: 500_000_000n, promptTokens: 400, completionTokens: 100, latencyMs: 600, startedAt: Date.now() - 26 * HOUR }),
    record('r3', { team: 'research', user: 'grace', feature: 'summaries', costNanoUsd: 250_000_000n, status: 403, outcome: 'rejected', errorCode: 'policy_denied', provider: null, latencyMs: 5 }),
    record('r4', { team: 'research', user: 'grace', feature: 'summaries', costNanoUsd: 0n, savedNanoUsd: 300_000_000n, cacheStatus: 'hit', latencyMs: 3 }),
    record('p1', { team: 'platform', app: 'playground', user: 'linus', feature: 'chat', costNanoUsd: 7_000_000_000n, model: 'gpt-4o', provider: 'anthropic', latencyMs: 900 }),
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-dashboard-e2e-'));
    harness = await startHarness({
      config: {
        ...testConfig(),
        ledger: {
          sink: ledgerKind === 'sqlite' ? { type: 'sqlite', path: join(dir, 'ledger.sqlite') } : { type: 'postgres', url: await postgres.server.createDatabase('dashboard_ledger') },
          flush_interval_ms: 20,
        },
        cache: { defaults: { ttl_seconds: 60 } },
        quotas: { budgets: { team: { 'acme/research': { monthly_usd: 20, daily_usd: 5 }, 'acme/platform': { monthly_usd: 10 } } } },
      },
    });
    const ledger = harness.tollgate.ledger;
    if (!ledger) throw new Error('no ledger');
    await ledger.sink.write(known);
    // Real requests through Envoy with the official SDK, so the view also holds what the gateway itself wrote.
    // Streamed, so the time to first token shows per provider; asked twice, so the second is a cache hit whose record
    // carries what the provider would have charged.
    let hitId = '';
    for (const expected of ['miss', 'hit']) {
      const { data: stream, response } = await harness.client()
        .chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'hello' }], stream: true }).withResponse();
      for await (const _chunk of stream) { /* drain */ }
      expect(response.headers.get('x-tollgate-cache')).toBe(expected);
      hitId = response.headers.get('x-tollgate-request-id') as string;
    }
    const hit = await harness.ledgerRecord(hitId);
    expect(hit).toMatchObject({ cacheStatus: 'hit', costNanoUsd: 0n });
    hitSaved = hit?.savedNanoUsd ?? 0n;
    expect(hitSaved).toBeGreaterThan(0n);
    const switched = await fetch(`${harness.adminUrl}/admin/v1/kill-switches/feature/legacy-export`, {
      method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'vendor incident' }),
    });
    expect(switched.status).toBe(200);
    const deadline = Date.now() + 10_000;
    while ((await ledger.aggregate({ groupBy: 'team', from: 0, to: Date.now() + HOUR })).reduce((n, g) => n + g.requests, 0) < known.length + 2) {
      if (Date.now() > deadline) throw new Error('the real request never reached the ledger');
      await new Promise((r) => setTimeout(r, 25));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function signIn(): Promise<Page> {
    // bypassCSP only so the test can inject axe-core; the page itself runs under its CSP in every other respect.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${harness.adminUrl}/dashboard`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('body[data-loaded="true"]');
    return page;
  }

  const text = (page: Page, key: string) => page.locator(`#totals dd[data-key="${key}"]`).innerText();

  it('signs in, shows every view, and a team filter shows exactly what the ledger holds for that team', async () => {
    const page = await signIn();
    expect(page.url()).toBe(`${harness.adminUrl}/dashboard`);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'tollgate_dashboard');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/dashboard' });
    expect(session?.value).not.toContain(ADMIN_TOKEN);
    // All rows: the five known ones and the two real requests.
    expect(await text(page, 'requests')).toBe('7');
    // What the cache saved: the known hit's and the real one's, from the ledger.
    expect(await page.locator('#cache dd[data-key="cache_saved"]').innerText()).toBe(`$${(Number(300_000_000n + hitSaved) / 1e9).toFixed(4)}`);
    await expect.poll(() => page.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#kill-switches tbody').innerText()).toMatch(/feature\s+legacy-export\s+vendor incident/);
    // The streamed request's time to first token, from the metrics, on the openai row.
    expect(await page.locator('#providers tbody tr', { hasText: 'openai' }).innerText()).toMatch(/\d+\.\d ms\s+\d+\.\d ms$/);
    // (The screenshots in the docs are the SQLite run's.)
    if (ledgerKind === 'sqlite') await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-overview.png'), fullPage: true });

    await page.selectOption('#team', 'research');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/team=research/);
    await page.waitForSelector('body[data-loaded="true"]');
    const research = known.filter((r) => r.team === 'research');
    const [fromLedger] = await harness.tollgate.ledger!.aggregate({ groupBy: 'org', from: 0, to: Date.now() + HOUR, where: { team: 'research' } });
    const cost = research.reduce((n, r) => n + (r.costNanoUsd ?? 0n), 0n);
    expect(fromLedger?.costNanoUsd).toBe(cost);
    expect(await text(page, 'spend')).toBe(`$${(Number(cost) / 1e9).toFixed(4)}`);
    expect(await text(page, 'requests')).toBe(String(fromLedger?.requests));
    expect(await text(page, 'errors')).toBe('1');
    expect(await text(page, 'prompt_tokens')).toBe(fromLedger?.promptTokens.toLocaleString('en-US'));
    // Top users: ada spent 1.75, grace 0.25.
    const users = await page.locator('#top-users tbody tr').allInnerTexts();
    expect(users[0]).toMatch(/acme\/ada\s+2\s+\$1\.7500/);
    expect(users[1]).toMatch(/acme\/grace\s+2\s+\$0\.2500/);
    // The research budget: 2.00 of 20 this month (r2 may fall in yesterday, then 1.50 of the day's 5).
    const budgets = await page.locator('#budgets tbody tr').allInnerTexts();
    expect(budgets.some((row) => /team\s+acme\/research\s+monthly/.test(row))).toBe(true);
    expect(await page.locator('#cache dd[data-key="cache_hits"]').innerText()).toBe('1');
    expect(await page.locator('#cache dd[data-key="cache_saved"]').innerText()).toBe('$0.3000');
    expect(await page.locator('#errors tbody').innerText()).toContain('policy_denied');
    if (ledgerKind === 'sqlite') await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-team-filter.png'), fullPage: true });
    await page.context().close();
  }, 60_000);

  /** axe-core's WCAG 2.1 A/AA rules (labels, contrast, names, landmarks…) on the page as it is now. */
  async function axeViolations(page: Page): Promise<string[]> {
    await page.addScriptTag({ content: await readFile(resolve(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8') });
    // Expressions as strings: they run in the page (the test's TypeScript has no DOM types).
    const result = await page.evaluate<{ violations: Array<{ id: string; nodes: unknown[] }>; passes: Array<{ id: string }> }>(
      "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } })",
    );
    // It did check something: labels and contrast among the rules that passed.
    expect(result.passes.map((p) => p.id)).toEqual(expect.arrayContaining(['label', 'color-contrast']));
    return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
  }

  it('passes an axe-core accessibility check and works from the keyboard', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const login = await context.newPage();
    await login.goto(`${harness.adminUrl}/dashboard`);
    expect(await axeViolations(login)).toEqual([]);
    await context.close();

    const page = await signIn();
    expect(await axeViolations(page)).toEqual([]);

    // Keyboard only: the skip link comes first, then every control of the filter form in order; Enter applies.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to the numbers');
    const reached: string[] = [];
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>("document.activeElement.id || document.activeElement.textContent || ''"));
    }
    for (const control of ['range', 'group_by', 'team', 'model', 'app', 'feature', 'user']) expect(reached).toContain(control);
    await page.focus('#group_by');
    await page.keyboard.press('ArrowDown');
    await page.focus('#user');
    await page.keyboard.type('ada');
    await page.keyboard.press('Enter');
    await page.waitForURL(/user=ada/);
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await text(page, 'requests')).toBe('2');
    await page.context().close();
  }, 60_000);

  it('signs out: the session cookie is cleared and the API refuses it afterwards', async () => {
    const page = await signIn();
    const session = (await page.context().cookies()).find((c) => c.name === 'tollgate_dashboard')?.value;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    const reply = await fetch(`${harness.adminUrl}/dashboard/api/summary`, { headers: { cookie: `tollgate_dashboard=${session}` } });
    expect(reply.status).toBe(401);
    await page.context().close();
  }, 60_000);

  it('refuses a wrong token, a cross-site sign-in, a missing session, and serves the same data to the admin API', async () => {
    const form = (token: string, origin?: string) => fetch(`${harness.adminUrl}/dashboard/login`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
    });
    const wrong = await form('not-the-token', harness.adminUrl);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const crossSite = await form(ADMIN_TOKEN, 'https://evil.example');
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toMatchObject({ error: { code: 'cross_origin_request', type: 'permission_error' } });
    expect(crossSite.headers.get('set-cookie')).toBeNull();
    const good = await form(ADMIN_TOKEN, harness.adminUrl);
    expect(good.status).toBe(303);
    expect(good.headers.get('set-cookie')).toMatch(/^tollgate_dashboard=[\w-]{43}; Path=\/dashboard; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(good.headers.get('location')).toBe('/dashboard');

    const anonymous = await fetch(`${harness.adminUrl}/dashboard/api/summary`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { type: 'authentication_error' } });
    const page = await fetch(`${harness.adminUrl}/dashboard`);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('Admin token');

    const api = await fetch(`${harness.adminUrl}/admin/v1/dashboard?group_by=model&team=research&from=${new Date(Date.now() - 30 * 24 * HOUR).toISOString()}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(200);
    const body = await api.json() as { totals: { requests: number; cost_usd: string }; breakdown: Array<{ label: string }> };
    expect(body.totals).toMatchObject({ requests: 4, cost_usd: '2.000000000' });
    expect(body.breakdown.map((b) => b.label)).toEqual(['gpt-4o-mini']);
    const bad = await fetch(`${harness.adminUrl}/admin/v1/dashboard?group_by=colour`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'group_by', type: 'invalid_request_error' } });
  });
});
