import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { freePort } from '../helpers/free-port.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';

const RETRY_AFTER_CAP_MS = 2000;
const PER_TRY_TIMEOUT_MS = 1000;

/**
 * Same-provider retries through real Envoy, with the openai SDK (its own retries off) against the strict fakes:
 * transient failures are retried on the same provider with back-off before any fallback, a Retry-After within the
 * cap is waited for, every attempt reaches the ledger, and an excluded provider stays untouched.
 */
describe('same-provider retries through Envoy', () => {
  let h: Harness;
  let backup: FakeOpenAI;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-retries-e2e-'));
    backup = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const dead = await freePort();
    const config = testConfig();
    config.routing = { retries: { retry_after_max_ms: RETRY_AFTER_CAP_MS } };
    config.envoy = { upstream_timeout_ms: PER_TRY_TIMEOUT_MS };
    config.ledger = { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20 };
    config.providers = {
      primary: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      backup: { type: 'openai', base_url: backup.url, api_key_env: 'TEST_OPENAI_KEY' },
      dead: { type: 'openai', base_url: `http://127.0.0.1:${dead}/v1`, api_key_env: 'TEST_OPENAI_KEY' },
    };
    config.models = {
      solo: { provider: 'primary', upstream_model: 'gpt-4o-mini', kind: 'chat' },
      'solo-no-retries': { provider: 'primary', upstream_model: 'gpt-4o-mini', kind: 'chat', retries: { max: 0 } },
      // The case: a one-target chain with max_attempts 2 must retry once.
      'one-target': { kind: 'chat', targets: [{ provider: 'primary', model: 'gpt-4o' }], max_attempts: 2 },
      unreachable: { provider: 'dead', upstream_model: 'gpt-4o', kind: 'chat' },
      chain: { kind: 'chat', targets: [{ provider: 'primary', model: 'gpt-4o' }, { provider: 'backup', model: 'gpt-4o-mini' }] },
    };
    const orgs = config.orgs as { acme: { teams: Record<string, unknown> } };
    orgs.acme.teams = {
      platform: { apps: { playground: {} } },
      restricted: { exclude_providers: ['backup'], apps: { notebook: {} } },
    };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await backup?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    h.fake.reset();
    backup.reset();
  });

  const ask = (model: string, headers: Record<string, string> = {}, key = h.key) =>
    h.client(key, { maxRetries: 0 }).chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Hello retry' }] }, { headers })
      .withResponse();


  for (const status of [500, 502, 503, 504, 429]) {
    it(`retries a transient ${status} on the same provider and answers`, async () => {
      h.fake.pushFault({ kind: 'status', status });
      const { data, response } = await ask('solo');
      expect(data.choices[0]?.message.content).toBe('Echo: Hello retry');
      expect(response.headers.get('x-tollgate-attempts')).toBe('2');
      expect(h.fake.requestCount).toBe(2);
    });
  }

  it('retries a reset and two failures in a row (default budget: 2 retries), and meters every attempt', async () => {
    h.fake.pushFault({ kind: 'reset' });
    h.fake.pushFault({ kind: 'status', status: 503 });
    const { response } = await ask('solo');
    expect(response.headers.get('x-tollgate-attempts')).toBe('3');
    expect(h.fake.requestCount).toBe(3);
    const record = await h.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    expect(record?.attempts).toEqual([
      { provider: 'primary', model: 'gpt-4o-mini', status: null },
      { provider: 'primary', model: 'gpt-4o-mini', status: null },
      { provider: 'primary', model: 'gpt-4o-mini', status: 200 },
    ]);
    expect(record).toMatchObject({ status: 200, outcome: 'completed', provider: 'primary' });
  });

  it('gives up after the budget: the client gets the provider\'s error in OpenAI shape, after 3 attempts', async () => {
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'solo', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-fake-fault': 'status=503' } });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { type: expect.any(String) } });
    expect(h.fake.requestCount).toBe(3);
    const record = await h.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    expect(record?.attempts.map((a) => a.status)).toEqual([null, null, 503]);
  });

  it('does not retry a client error (400) or when the model turns retries off', async () => {
    const bad = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'solo', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-fake-fault': 'status=400' } });
    expect(bad.status).toBe(400);
    expect(h.fake.requestCount).toBe(1);
    h.fake.reset();
    h.fake.pushFault({ kind: 'status', status: 503 });
    const off = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'solo-no-retries', messages: [{ role: 'user', content: 'x' }] });
    expect(off.status).toBe(503);
    expect(h.fake.requestCount).toBe(1);
  });

  it('retries a one-target chain with max_attempts 2 once', async () => {
    h.fake.pushFault({ kind: 'status', status: 500 });
    const { response } = await ask('one-target');
    expect(response.headers.get('x-tollgate-attempts')).toBe('2');
    expect(h.fake.requestCount).toBe(2);
    h.fake.reset();
    const failed = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'one-target', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-fake-fault': 'status=500' } });
    expect(failed.status).toBe(500);
    expect(h.fake.requestCount).toBe(2);
  });

  it('waits for a Retry-After within the cap, and not for a longer one', async () => {
    h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 1 });
    let started = Date.now();
    await ask('solo');
    const waited = Date.now() - started;
    expect(h.fake.requestCount).toBe(2);
    // Envoy waits between the Retry-After and 1.5 × it.
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(1500 + 400);
    // 5 s is over the 2 s cap: the exponential back-off (tens of ms) applies instead.
    h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 5 });
    started = Date.now();
    await ask('solo');
    expect(Date.now() - started).toBeLessThan(800);
  });

  it('replays a large request body on the retry (Envoy keeps it up to the connection buffer limit)', async () => {
    h.fake.pushFault({ kind: 'status', status: 503 });
    const content = 'lorem ipsum '.repeat(100_000);
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'solo', messages: [{ role: 'user', content }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-attempts')).toBe('2');
    expect(h.fake.requestCount).toBe(2);
    const second = h.fake.requests[1]?.body as { messages: Array<{ content: string }> };
    expect(second.messages[0]?.content).toBe(content);
  });

  it('retries an attempt that hangs past the per-try timeout', async () => {
    h.fake.pushFault({ kind: 'hang' });
    const started = Date.now();
    const { response } = await ask('solo');
    expect(response.headers.get('x-tollgate-attempts')).toBe('2');
    expect(Date.now() - started).toBeGreaterThanOrEqual(PER_TRY_TIMEOUT_MS - 50);
    expect(h.fake.requestCount).toBe(2);
  });

  it('retries connect failures with back-off and answers 503 in OpenAI shape, in bounded time', async () => {
    const started = Date.now();
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'unreachable', messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { type: 'api_error' } });
    expect(response.headers.get('x-tollgate-attempts')).toBe('3');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('retries a stream before its first byte; the text reassembles exactly', async () => {
    h.fake.pushFault({ kind: 'status', status: 502 });
    const stream = await h.client(h.key, { maxRetries: 0 }).chat.completions.create({
      model: 'solo', stream: true, messages: [{ role: 'user', content: 'one two three four' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: one two three four');
    expect(h.fake.requestCount).toBe(2);
  });

  it('never retries a stream after bytes reached the client: the cut is an error, not a retry', async () => {
    const stream = await h.client(h.key, { maxRetries: 0 }).chat.completions.create(
      { model: 'solo', stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] },
      { headers: { 'x-fake-fault': 'cut-stream=3', 'x-fake-chunk-delay-ms': '10' } },
    );
    let received = '';
    const consume = async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toThrow();
    expect(received.length).toBeGreaterThan(0);
    expect(h.fake.requestCount).toBe(1);
  });

  describe('in a chain', () => {
    it('retries the primary before falling back: one failure is absorbed by the primary', async () => {
      h.fake.pushFault({ kind: 'status', status: 503 });
      const { response } = await ask('chain');
      expect(response.headers.get('x-tollgate-provider')).toBe('primary');
      expect(response.headers.get('x-tollgate-attempts')).toBe('2');
      expect(h.fake.requestCount).toBe(2);
      expect(backup.requestCount).toBe(0);
    });

    it('falls back after the primary\'s budget; each attempt is metered with its status', async () => {
      h.fake.pushFault({ kind: 'status', status: 500 }, 3);
      const { data, response } = await ask('chain');
      expect(data.choices[0]?.message.content).toBe('Echo: Hello retry');
      expect(response.headers.get('x-tollgate-provider')).toBe('backup');
      expect(response.headers.get('x-tollgate-attempts')).toBe('4');
      expect(h.fake.requestCount).toBe(3);
      expect(backup.requestCount).toBe(1);
      const record = await h.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
      expect(record?.attempts).toEqual([
        { provider: 'primary', model: 'gpt-4o', status: 500 },
        { provider: 'primary', model: 'gpt-4o', status: 500 },
        { provider: 'primary', model: 'gpt-4o', status: 500 },
        { provider: 'backup', model: 'gpt-4o-mini', status: 200 },
      ]);
    });

    it('waits for the primary\'s Retry-After between its own attempts, but not before falling back', async () => {
      h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 1 }, 2);
      h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 2 });
      const started = Date.now();
      const { response } = await ask('chain');
      const elapsed = Date.now() - started;
      expect(response.headers.get('x-tollgate-provider')).toBe('backup');
      expect(h.fake.requestCount).toBe(3);
      // Two waits of 1–1.5 s on the primary (Envoy jitters a Retry-After up to 1.5 × its value); the third
      // Retry-After (2 s), before the fallback, is dropped: with it the request would take at least 4 s.
      expect(elapsed).toBeGreaterThanOrEqual(1950);
      expect(elapsed).toBeLessThan(3000 + 600);
    });

    it('never contacts an excluded provider, however often the allowed one fails', async () => {
      const key = await h.createKey('restricted', 'notebook');
      const response = await postJson(`${h.baseUrl}/chat/completions`, key, { model: 'chain', messages: [{ role: 'user', content: 'secret' }] },
        { headers: { 'x-fake-fault': 'status=503' } });
      expect(response.status).toBe(503);
      expect(h.fake.requestCount).toBe(3);
      expect(backup.requestCount).toBe(0);
    });
  });
});
