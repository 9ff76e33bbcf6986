import { describe, expect, it } from 'vitest';
import { runSoak } from '../bench/soak.ts';

/**
 * The CI version of `npm run bench:soak` (test/bench/soak.ts): the same harness and assertions, 20 s at 50 RPS
 * instead of 10 minutes at 200. Real Envoy + Tollgate with every stage, Redis, PostgreSQL, the strict fake provider,
 * streams, tool calls, injected provider faults and clients abandoning streams.
 */
describe('soak (20 s at 50 RPS)', () => {
  it('loses no usage record, leaks no reservation, answers no 5xx but the injected ones, and keeps its memory flat', async () => {
    const result = await runSoak({ seconds: 20, rps: 50, log: () => undefined });
    const context = JSON.stringify({ requests: result.requests, ledger: result.ledger, reservations: result.reservations, gateway5xx: result.gateway5xx, unexpected: result.unexpected, memory: result.memory.tollgateRssMb }, null, 1);
    expect(result.requests.sent, context).toBe(1000);
    // Every kind of traffic was there, injected faults included.
    expect(Object.keys(result.requests.byKind).sort(), context).toEqual(['abort', 'fault', 'json', 'repeat', 'stream', 'tool']);
    expect(Object.keys(result.requests.faults).length, context).toBe(5);
    expect(result.ledger.rows, context).toBe(result.requests.sent);
    expect(result.ledger.lostRecords, context).toBe(0);
    expect(result.ledger.notFinal, context).toBe(0);
    expect(result.ledger.queue, context).toEqual({ length: 0, pending: 0 });
    expect(result.reservations.counters, context).toBeGreaterThan(0);
    expect(result.reservations.leakedCounters, context).toEqual([]);
    expect(result.gateway5xx.other, context).toBe(0);
    expect(result.unexpected.nonFaultNon200, context).toBe(0);
    expect(result.memory.tollgateRssMb.growthPct, context).toBeLessThanOrEqual(10);
    expect(Object.values(result.pass).every(Boolean), JSON.stringify(result.pass)).toBe(true);
  }, 180_000);
});
