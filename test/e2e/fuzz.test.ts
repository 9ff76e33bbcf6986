import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzCases, runFuzz, send } from '../bench/lib/fuzz-cases.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** The fixed-seed CI subset of `npm run bench:fuzz` (test/bench/fuzz.ts): hostile input through real Envoy + Tollgate. */
describe('fuzz (fixed seed, 300 requests)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: testConfig(), fake: { recordBodies: false } });
  });
  afterAll(async () => h?.stop());

  it('answers every hostile request with a 4xx in OpenAI shape or a valid 2xx, never a 5xx, and serves normally afterwards', async () => {
    const origin = new URL(h.baseUrl).origin;
    const tally = await runFuzz(origin, h.key, fuzzCases(17, 300), h.fake);
    // The only tolerated entries are the known Envoy 431 connection closes (see judge() in fuzz-cases.ts).
    expect(tally.violations.filter((v) => !v.problem.startsWith('KNOWN:'))).toEqual([]);
    expect(tally.total).toBe(300);
    expect(Object.keys(tally.statusHistogram).filter((s) => Number(s) >= 500)).toEqual([]);
    expect(tally.providerRejected).toBe(0);
    // Still healthy: valid requests go through.
    for (let i = 0; i < 5; i++) {
      const answer = await send(origin, h.key, { category: 'valid', label: 'after', method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there?' }] })) });
      expect(answer.status).toBe(200);
    }
  }, 240_000);
});
