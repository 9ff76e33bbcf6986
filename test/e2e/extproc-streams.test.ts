import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/**
 * Thousands of requests over the same Envoy → Tollgate HTTP/2 connections. Envoy used to reset the ext_proc gRPC
 * stream after every request; Node's HTTP/2 server took ~1,200 resets as an attack and dropped the connection,
 * failing requests in flight with 503. Envoy now closes the streams gracefully (runtime flag in the bootstrap).
 * Checked on the default transport (h2-lite, which also ends each stream early with its last answer) and on
 * Node's HTTP/2 server, where the resets did the damage.
 */
describe.each(['h2-lite', 'http2'] as const)('ext_proc streams over long-lived connections (%s)', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    config.extproc = { transport };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());

  it('serves 3,000 requests without a failed ext_proc stream', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < 3000) {
        next++;
        const response = await fetch(`${h.baseUrl}/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' }, body,
        });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    expect(Object.fromEntries(statuses)).toEqual({ 200: 3000 });
    const stats = await fetch(`${h.envoyAdminUrl}/stats?filter=ext_proc`).then((r) => r.text());
    expect(stats).toMatch(/ext_proc\.tollgate\.streams_started: [1-9]/);
    expect(stats).toMatch(/ext_proc\.tollgate\.streams_failed: 0/);
    const cluster = await fetch(`${h.envoyAdminUrl}/stats?filter=cluster.tollgate_extproc.upstream_cx_destroy_remote`).then((r) => r.text());
    expect(cluster).toMatch(/upstream_cx_destroy_remote: 0/);
  });
});
