import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';

/**
 * Load balancing across deployments of one model through real Envoy, with the openai SDK: `east` (the harness's
 * fake) and `west` (a second fake) serve the same model at the same priority, `reserve` is the fallback behind them.
 * Envoy spreads the load (weights, least request, sticky by user); policy exclusions still hold.
 */
describe('load balancing across deployments of a model', () => {
  let h: Harness;
  let west: FakeOpenAI;
  let reserve: FakeOpenAI;

  beforeAll(async () => {
    west = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    reserve = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const config = testConfig();
    config.providers = {
      east: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      west: { type: 'openai', base_url: west.url, api_key_env: 'TEST_OPENAI_KEY' },
      reserve: { type: 'openai', base_url: reserve.url, api_key_env: 'TEST_OPENAI_KEY' },
      // Two keys of one account: two providers with the same base URL, each its own credential.
      'key-one': { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      'key-two': { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
    };
    const pair = (weights: [number, number]) => [
      { provider: 'east', model: 'gpt-4o', priority: 0, weight: weights[0] },
      { provider: 'west', model: 'gpt-4o', priority: 0, weight: weights[1] },
    ];
    config.models = {
      weighted: { kind: 'chat', targets: [...pair([3, 1]), { provider: 'reserve', model: 'gpt-4o-mini' }] },
      'least-busy': { kind: 'chat', targets: pair([1, 1]), load_balancing: { policy: 'least_request' } },
      sticky: { kind: 'chat', targets: pair([1, 1]), load_balancing: { sticky: 'user' } },
      'two-keys': { kind: 'chat', targets: [{ provider: 'key-one', model: 'gpt-4o', priority: 0 }, { provider: 'key-two', model: 'gpt-4o', priority: 0 }] },
    };
    const orgs = config.orgs as { acme: { teams: Record<string, unknown> } };
    orgs.acme.teams = {
      platform: { apps: { playground: {} } },
      // This team's data must never reach `west`, whatever the balancing says.
      restricted: { exclude_providers: ['west'], apps: { notebook: {} } },
    };
    // Failing attempts must not eject endpoints between tests.
    config.routing = { outlier: { consecutive_failures: 100 } };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await west?.close();
    await reserve?.close();
  });
  beforeEach(() => {
    h.fake.reset();
    west.reset();
    reserve.reset();
  });

  const ask = (model: string, options: { key?: string; user?: string } = {}) =>
    h.client(options.key ?? h.key, { maxRetries: 0 }).chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Hello balance' }], ...(options.user ? { user: options.user } : {}) })
      .withResponse();

  it('splits traffic by weight (3:1) within a priority; the fallback priority gets none while both are healthy', async () => {
    const served: Record<string, number> = {};
    for (let i = 0; i < 80; i++) {
      const { response } = await ask('weighted');
      const provider = response.headers.get('x-tollgate-provider') as string;
      served[provider] = (served[provider] ?? 0) + 1;
    }
    expect(h.fake.requestCount + west.requestCount).toBe(80);
    expect(served.east).toBe(h.fake.requestCount);
    // Weighted round robin: 60 / 20 expected; allow for Envoy's per-worker schedulers.
    expect(h.fake.requestCount).toBeGreaterThanOrEqual(50);
    expect(h.fake.requestCount).toBeLessThanOrEqual(70);
    expect(reserve.requestCount).toBe(0);
  });

  it('spreads requests over two keys of one account (same base URL)', async () => {
    const served = new Set<string>();
    for (let i = 0; i < 8; i++) served.add((await ask('two-keys')).response.headers.get('x-tollgate-provider') as string);
    expect(served).toEqual(new Set(['key-one', 'key-two']));
    expect(h.fake.requestCount).toBe(8);
  });

  it('retries a failure on the other deployment of the same priority before the fallback', async () => {
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'weighted', messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(200);
    h.fake.reset();
    west.reset();
    h.fake.pushFault({ kind: 'status', status: 503 }, 5);
    west.pushFault({ kind: 'status', status: 503 }, 5);
    const { response: fallback } = await ask('weighted');
    // 3 attempts in the first priority (east and west), then the reserve.
    expect(h.fake.requestCount + west.requestCount).toBe(3);
    expect(h.fake.requestCount).toBeGreaterThanOrEqual(1);
    expect(west.requestCount).toBeGreaterThanOrEqual(1);
    expect(fallback.headers.get('x-tollgate-provider')).toBe('reserve');
    expect(fallback.headers.get('x-tollgate-attempts')).toBe('4');
  });

  it('least request sends most requests to the deployment with fewer in flight', async () => {
    // east answers slowly: with the same weight, round robin would split 50/50.
    h.fake.pushFault({ kind: 'delay', ms: 600 }, 1000);
    const requests = [];
    for (let i = 0; i < 80; i++) {
      requests.push(ask('least-busy'));
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(requests);
    expect(h.fake.requestCount + west.requestCount).toBe(80);
    // Round robin would give west 40 exactly. Least request picks the least busy of ten random choices; each of
    // Envoy's two workers counts only its own requests in flight, so the slow one still gets some.
    expect(west.requestCount).toBeGreaterThanOrEqual(56);
  });

  it('keeps each user on one deployment (sticky), and spreads users over both', async () => {
    const homes = new Map<string, Set<string>>();
    for (let u = 0; u < 12; u++) {
      const user = `user-${u}`;
      homes.set(user, new Set());
      for (let i = 0; i < 4; i++) {
        const { response } = await ask('sticky', { user });
        homes.get(user)?.add(response.headers.get('x-tollgate-provider') as string);
      }
    }
    for (const [, served] of homes) expect(served.size).toBe(1);
    const used = new Set([...homes.values()].flatMap((s) => [...s]));
    expect(used).toEqual(new Set(['east', 'west']));
    // The affinity header is Tollgate's and Envoy's business only: providers never see it.
    expect(JSON.stringify(h.fake.requests.map((r) => r.headers))).not.toContain('x-tollgate-affinity');
    expect(JSON.stringify(west.requests.map((r) => r.headers))).not.toContain('x-tollgate-affinity');
  });

  it('never contacts an excluded deployment, whatever the weights and even when the allowed one fails', async () => {
    const key = await h.createKey('restricted', 'notebook');
    for (let i = 0; i < 10; i++) {
      const { response } = await ask('least-busy', { key });
      expect(response.headers.get('x-tollgate-provider')).toBe('east');
    }
    for (let i = 0; i < 4; i++) await ask('sticky', { key, user: `user-${i}` });
    h.fake.pushFault({ kind: 'status', status: 503 }, 3);
    const { response } = await ask('weighted', { key });
    // east is tried 3 times, then the reserve (not excluded) answers; west never.
    expect(response.headers.get('x-tollgate-provider')).toBe('reserve');
    expect(response.headers.get('x-tollgate-attempts')).toBe('4');
    expect(west.requestCount).toBe(0);
  });
});
