import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { freePort } from '../helpers/free-port.ts';
import { ADMIN_TOKEN, PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';

const PER_TRY_TIMEOUT_MS = 1500;
const EJECTION_MS = 2000;

/**
 * Fallback chains on real Envoy: `smart` is served by `primary` then `backup` (two strict fakes). Envoy retries move
 * to the next provider, outlier detection ejects a failing one, and Tollgate translates each attempt.
 */
describe('fallback chains through Envoy', () => {
  let h: Harness;
  let backup: FakeOpenAI;

  beforeAll(async () => {
    backup = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const config = testConfig();
    config.envoy = { upstream_timeout_ms: PER_TRY_TIMEOUT_MS };
    // Fallback without same-provider retries (those are tested in retries.test.ts).
    config.routing = { retries: { max: 0 }, outlier: { consecutive_failures: 3, interval_ms: 500, base_ejection_ms: EJECTION_MS } };
    // Nothing listens on these ports: providers that are down.
    const [deadA, deadB] = [await freePort(), await freePort()];
    config.providers = {
      'dead-a': { type: 'openai', base_url: `http://127.0.0.1:${deadA}/v1`, api_key_env: 'TEST_OPENAI_KEY' },
      'dead-b': { type: 'openai', base_url: `http://127.0.0.1:${deadB}/v1`, api_key_env: 'TEST_OPENAI_KEY' },
      primary: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', region: 'us' },
      backup: { type: 'openai', base_url: backup.url, api_key_env: 'TEST_OPENAI_KEY', region: 'eu' },
    };
    config.models = {
      smart: { kind: 'chat', targets: [{ provider: 'primary', model: 'gpt-4o' }, { provider: 'backup', model: 'gpt-4o-mini' }] },
      'all-down': { kind: 'chat', targets: [{ provider: 'dead-a', model: 'gpt-4o' }, { provider: 'dead-b', model: 'gpt-4o' }] },
      // Its own cluster, so its ejection state is independent of the other tests.
      ejectable: { kind: 'chat', targets: [{ provider: 'primary', model: 'gpt-4o' }, { provider: 'backup', model: 'gpt-4o-mini' }] },
      'smart-eu-first': { kind: 'chat', targets: [{ provider: 'backup', model: 'gpt-4o-mini' }, { provider: 'primary', model: 'gpt-4o' }] },
    };
    const orgs = config.orgs as { acme: { teams: Record<string, unknown> } };
    orgs.acme.teams = {
      platform: { apps: { playground: {} } },
      // This team's data must never reach `backup`, not even as a fallback.
      restricted: { exclude_providers: ['backup'], apps: { notebook: {} } },
    };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await backup?.close();
  });
  beforeEach(() => {
    h.fake.reset();
    backup.reset();
  });

  const ask = (model = 'smart', key = h.key) =>
    h.client(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello chain' }] }).withResponse();

  /** One failure does not take the primary out of rotation (and its success resets the failure count). */
  async function expectPrimaryServesAgain() {
    const { response } = await ask();
    expect(response.headers.get('x-tollgate-provider')).toBe('primary');
  }

  it('answers from the primary when it is healthy, and names provider, model and attempts', async () => {
    const { data, response } = await ask();
    expect(data.choices[0]?.message.content).toBe('Echo: Hello chain');
    expect(response.headers.get('x-tollgate-provider')).toBe('primary');
    expect(response.headers.get('x-tollgate-model')).toBe('gpt-4o');
    expect(response.headers.get('x-tollgate-attempts')).toBe('1');
    expect(h.fake.requests[0]?.body).toMatchObject({ model: 'gpt-4o' });
    expect(h.fake.requests[0]?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(backup.requestCount).toBe(0);
  });

  for (const status of [429, 500, 503]) {
    it(`falls back when the primary answers ${status}; the primary was tried once`, async () => {
      h.fake.pushFault({ kind: 'status', status });
      const { data, response } = await ask();
      expect(data.choices[0]?.message.content).toBe('Echo: Hello chain');
      expect(response.headers.get('x-tollgate-provider')).toBe('backup');
      expect(response.headers.get('x-tollgate-model')).toBe('gpt-4o-mini');
      expect(response.headers.get('x-tollgate-attempts')).toBe('2');
      expect(h.fake.requestCount).toBe(1);
      expect(backup.requestCount).toBe(1);
      // Each attempt was translated for its own provider: model name and credential.
      expect(backup.requests[0]?.body).toMatchObject({ model: 'gpt-4o-mini' });
      expect(JSON.stringify(backup.requests[0]?.headers)).not.toContain(h.key);
      await expectPrimaryServesAgain();
    });
  }

  it('falls back within the per-try timeout when the primary hangs', async () => {
    h.fake.pushFault({ kind: 'hang' });
    const started = Date.now();
    const { response } = await ask();
    const elapsed = Date.now() - started;
    expect(response.headers.get('x-tollgate-provider')).toBe('backup');
    expect(elapsed).toBeGreaterThanOrEqual(PER_TRY_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(PER_TRY_TIMEOUT_MS + 1500);
    await expectPrimaryServesAgain();
  });

  it('falls back for a stream before its first byte, and the text reassembles exactly', async () => {
    h.fake.pushFault({ kind: 'status', status: 502 });
    const stream = await h.client().chat.completions.create({
      model: 'smart', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    let text = '';
    let usage: { total_tokens: number } | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo: one two three four');
    expect(usage?.total_tokens).toBeGreaterThan(0);
    expect(backup.requestCount).toBe(1);
    await expectPrimaryServesAgain();
  });

  it('surfaces a provider failure after the first byte as an error, never a clean end, and does not fall back', async () => {
    const stream = await h.client().chat.completions.create(
      { model: 'smart', stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] },
      { headers: { 'x-fake-fault': 'cut-stream=4', 'x-fake-chunk-delay-ms': '20' } },
    );
    let received = '';
    const consume = async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toThrow();
    expect(received.length).toBeGreaterThan(0);
    expect(backup.requestCount).toBe(0);
    await expectPrimaryServesAgain();
  });

  it('never contacts an excluded provider, even when the allowed one fails', async () => {
    const key = await h.createKey('restricted', 'notebook');
    h.fake.pushFault({ kind: 'status', status: 503 });
    const failed = await postJson(`${h.baseUrl}/chat/completions`, key, { model: 'smart', messages: [{ role: 'user', content: 'secret' }] });
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: { type: string } }).error.type).toBeTruthy();
    expect(backup.requestCount).toBe(0);
    // The same chain in the other order: the excluded provider is skipped, the allowed one answers.
    const { response } = await ask('smart-eu-first', key);
    expect(response.headers.get('x-tollgate-provider')).toBe('primary');
    expect(backup.requestCount).toBe(0);
  });

  it('answers 503 in OpenAI shape, in bounded time, when every provider of the chain fails', async () => {
    h.fake.pushFault({ kind: 'status', status: 503 });
    backup.pushFault({ kind: 'status', status: 503 });
    const started = Date.now();
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'smart', messages: [{ role: 'user', content: 'anyone?' }] });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('api_error');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(h.fake.requestCount).toBe(1);
    expect(backup.requestCount).toBe(1);
    await expectPrimaryServesAgain();
  });

  it('answers 503 in OpenAI shape at once when no provider of the chain is reachable', async () => {
    const started = Date.now();
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'all-down', messages: [{ role: 'user', content: 'anyone?' }] });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { type: 'api_error' } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('switches a provider off through the admin API: the chain skips it until it is switched on again', async () => {
    const admin = (method: string, path: string) =>
      fetch(`${h.adminUrl}/admin/v1/kill-switches${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: method === 'PUT' ? '{"reason":"drill"}' : undefined });
    expect((await admin('PUT', '/provider/primary')).status).toBe(200);
    try {
      const { response } = await ask();
      expect(response.headers.get('x-tollgate-provider')).toBe('backup');
      expect(response.headers.get('x-tollgate-attempts')).toBe('1');
      expect(h.fake.requestCount).toBe(0);
      // A feature switch refuses the requests of that feature only.
      expect((await admin('PUT', '/feature/summaries')).status).toBe(200);
      const refused = await h.client().chat.completions
        .create({ model: 'smart', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-tollgate-feature': 'summaries' } })
        .then(() => null, (e: unknown) => e as { status: number; error: { code: string } });
      expect(refused).toMatchObject({ status: 503, error: { code: 'feature_disabled' } });
    } finally {
      await admin('DELETE', '/provider/primary');
      await admin('DELETE', '/feature/summaries');
    }
    expect((await ask()).response.headers.get('x-tollgate-provider')).toBe('primary');
  });

  it('ejects a provider after consecutive failures: it sees no traffic until the ejection ends', async () => {
    h.fake.pushFault({ kind: 'status', status: 500 }, 3);
    for (let i = 0; i < 3; i++) expect((await ask('ejectable')).response.headers.get('x-tollgate-provider')).toBe('backup');
    expect(h.fake.requestCount).toBe(3);
    // Ejected: requests go straight to the backup, one attempt each.
    for (let i = 0; i < 5; i++) {
      const { response } = await ask('ejectable');
      expect(response.headers.get('x-tollgate-provider')).toBe('backup');
      expect(response.headers.get('x-tollgate-attempts')).toBe('1');
    }
    expect(h.fake.requestCount).toBe(3);
    // After the ejection time (+ one detection interval) the primary is back.
    await new Promise((resolve) => setTimeout(resolve, EJECTION_MS + 1000));
    const { response } = await ask('ejectable');
    expect(response.headers.get('x-tollgate-provider')).toBe('primary');
    expect(h.fake.requestCount).toBe(4);
  }, 20_000);
});
