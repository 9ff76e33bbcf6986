import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** What a provider receives and what the client gets back, header by header, through real Envoy + Tollgate. */
describe('headers between the gateway and providers', () => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    (config.providers as Record<string, unknown>).second = { type: 'openai', base_url: 'http://placeholder/v1', api_key_env: 'TEST_OPENAI_KEY' };
    (config.models as Record<string, unknown>).chained = { targets: [{ provider: 'second', model: 'gpt-4o-mini' }, { provider: 'openai', model: 'gpt-4o' }] };
    config.requests = { forward_headers: ['accept', 'user-agent', 'openai-organization', 'x-fake-fault'] };
    // Fallback without same-provider retries (those are tested in retries.test.ts).
    config.routing = { retries: { max: 0 } };
    config.quotas = { limits: { team: { '*': { rpm: 60, tpm: 100_000 } } } };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.fake.reset());

  const clientHeaders = {
    'content-type': 'application/json',
    'user-agent': 'my-app/1.0',
    'openai-organization': 'org-123',
    accept: 'application/json',
    cookie: 'session=secret',
    'x-internal-trace': 'do-not-forward',
    'x-forwarded-for': '203.0.113.7',
    'x-envoy-force-trace': '1',
    'accept-language': 'vi',
  };

  async function chat(model: string, extra: Record<string, string> = {}) {
    return fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { ...clientHeaders, authorization: `Bearer ${h.key}`, ...extra },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
  }

  function expectOnlyWhatProvidersNeed(received: Record<string, unknown>) {
    const names = Object.keys(received).sort();
    for (const name of names) {
      expect(name.startsWith('x-envoy-'), name).toBe(false);
      expect(name.startsWith('x-forwarded-'), name).toBe(false);
    }
    expect(received['x-request-id']).toBeUndefined();
    expect(received.cookie).toBeUndefined();
    expect(received['x-internal-trace']).toBeUndefined();
    expect(received['accept-language']).toBeUndefined();
    expect(received['x-tollgate-route']).toBeUndefined();
    // The allow-listed ones arrive, and the provider's own credential replaces the Tollgate key.
    expect(received['user-agent']).toBe('my-app/1.0');
    expect(received['openai-organization']).toBe('org-123');
    expect(received.accept).toBe('application/json');
    expect(received.authorization).toBe('Bearer sk-fake-provider-key');
    expect(names.filter((n) => !['host', 'content-type', 'content-length', 'authorization', 'user-agent', 'openai-organization', 'accept', 'x-fake-fault', 'x-client-request-id', 'transfer-encoding'].includes(n))).toEqual([]);
    // The body's framing: a length, or chunked when Envoy streams the request body (extproc.eager_request_body).
    expect(received['content-length'] !== undefined || received['transfer-encoding'] === 'chunked').toBe(true);
  }

  it('sends a single provider only the allow-listed client headers and none of Envoy\'s', async () => {
    const response = await chat('gpt-4o-mini');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // The provider gets Tollgate's request id, under the header OpenAI documents for a caller's own id.
    expect(h.fake.requests.at(-1)?.headers['x-client-request-id']).toBe(response.headers.get('x-tollgate-request-id'));
    expect(response.headers.get('x-envoy-upstream-service-time')).toBeNull();
    expect(h.fake.requests).toHaveLength(1);
    expectOnlyWhatProvidersNeed(h.fake.requests[0]?.headers as Record<string, unknown>);
  });

  it('does the same on every attempt of a fallback chain, and keeps each attempt tied to its request', async () => {
    const response = await chat('chained', { 'x-fake-fault': 'status=503' });
    await response.text();
    expect(response.headers.get('x-tollgate-attempts')).toBe('2');
    expect(response.headers.get('x-tollgate-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.fake.requests).toHaveLength(2);
    for (const request of h.fake.requests) expectOnlyWhatProvidersNeed(request.headers as Record<string, unknown>);
  });

  it("returns Tollgate's own rate-limit headers, never the provider's, with resets in the window's time", async () => {
    const first = await chat('gpt-4o-mini');
    expect(first.status).toBe(200);
    // The fake reports its own limits (10000 RPM, reset 6ms) like OpenAI does; the client sees the team's 60 RPM.
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('60');
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(Number(first.headers.get('x-ratelimit-remaining-requests'))).toBeLessThanOrEqual(59);
    // One request of 60 per minute is given back after a second at the latest (the bucket refills 1 per second).
    expect(first.headers.get('x-ratelimit-reset-requests')).toMatch(/^[1-9]\d*(\.\d+)?s$/);
    expect(first.headers.get('x-ratelimit-reset-requests')).not.toBe('6ms');
  });

  it("passes no provider rate-limit header through when Tollgate has no limit for the request", async () => {
    const config = testConfig();
    const other = await startHarness({ config });
    try {
      const response = await fetch(`${other.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(200);
      expect([...response.headers.keys()].filter((name) => name.startsWith('x-ratelimit-'))).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});
