import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/**
 * Failed authentications are limited per client address: after max_failures within the window, every request from
 * that address (valid keys included) gets 429 with Retry-After, in the OpenAI error shape, until the block ends.
 */
describe('failed authentications, limited per source address', () => {
  let h: Harness;

  beforeAll(async () => {
    const config = testConfig();
    config.auth = { failure_limit: { max_failures: 3, window_seconds: 60, block_seconds: 2 } };
    config.envoy = { readiness_path: '/envoy-ready' };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const post = (key: string) =>
    fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('blocks an address after 3 wrong keys with 429 + Retry-After, then lets it back in', async () => {
    expect((await post(h.key)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const wrong = await post(`tg-wrong-guess-${i}-aaaaaaaaaaaaaaaaaaaaaaaaaa`);
      expect(wrong.status).toBe(401);
    }
    const blocked = await post(h.key);
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(await blocked.json()).toEqual({
      error: { message: expect.stringContaining('Too many failed authentications'), type: 'rate_limit_error', code: 'too_many_auth_failures', param: null },
    });
    // The SDK sees the same: a RateLimitError.
    const error = await h.client(h.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    expect((await post(h.key)).status).toBe(200);
  });

  it('takes the address from the connection, not from a client-written X-Forwarded-For', async () => {
    await new Promise((r) => setTimeout(r, 2200)); // the block of the test before ends
    const spoofed = (key: string, xff: string) =>
      fetch(`${h.baseUrl}/models`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': xff } });
    // Three failures under three made-up addresses are still three failures of this client…
    for (let i = 0; i < 3; i++) expect((await spoofed(`tg-wrong-${i}-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`, `203.0.113.${i + 1}`)).status).toBe(401);
    expect((await spoofed(h.key, '198.51.100.7')).status).toBe(429);
    await new Promise((r) => setTimeout(r, 2200));
    // …and naming someone else's address does not get them blocked: this client is still let in afterwards.
    expect((await post(h.key)).status).toBe(200);
  });

  it('answers Envoy readiness on the configured listener path, without Envoy admin', async () => {
    const ready = await fetch(`${new URL(h.baseUrl).origin}/envoy-ready`);
    expect(ready.status).toBe(200);
  });
});
