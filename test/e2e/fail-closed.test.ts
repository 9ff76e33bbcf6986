import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** Without Tollgate there is no policy: Envoy fails closed, in the OpenAI error shape, and calls no provider. */
describe('fail closed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());

  it('answers 503 gateway_unavailable when Tollgate is down', async () => {
    expect((await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'up' }] })).choices).toHaveLength(1);
    await h.tollgate.stop();
    h.fake.reset();
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/json');
    const json = await response.json() as { error: { code: string; type: string; param: null } };
    expect(json.error).toMatchObject({ code: 'gateway_unavailable', type: 'api_error', param: null });
    expect(h.fake.requestCount).toBe(0);
  });
});

describe('fail open (a deployment choice)', () => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    config.envoy = { failure_mode_allow: true };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());

  it('still never lets a client pick the provider route itself while Tollgate is down', async () => {
    await h.tollgate.stop();
    h.fake.reset();
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', 'x-tollgate-route': 'openai' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unknown_url');
    expect(h.fake.requestCount).toBe(0);
  });
});
