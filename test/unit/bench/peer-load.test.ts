import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../bench/lib/paced-load.ts';
import { runClosedLoad } from '../../bench/lib/closed-loop.ts';
import { runStreamTiming } from '../../bench/lib/stream-timing.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai-provider.ts';

/** The peer benchmark's load pieces against the real fake provider: what they count must be what happened. */
const KEY = 'sk-bench-test';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY, chunkDelayMs: 20, recordBodies: false });
});
afterAll(async () => {
  await fake.close();
});

describe('runStreamTiming', () => {
  it('sees the five content chunks 20 ms apart and the first token after one spacing', async () => {
    const pool = createPool(new URL(fake.url).origin, 8);
    try {
      const result = await runStreamTiming(pool, {
        path: '/v1/chat/completions', headers, rps: 20, durationMs: 500,
        bodyFor: (i) => JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `p${i} two three four` }] }),
      });
      expect(result.scheduled).toBe(10);
      expect(result.ok).toBe(10);
      expect(result.errorCount).toBe(0);
      expect(result.contentEvents).toEqual({ min: 5, median: 5, max: 5 });
      // The role chunk comes first, "Echo:" one spacing later.
      expect(result.ttft.p50).toBeGreaterThanOrEqual(19);
      expect(result.interChunk.p50).toBeGreaterThanOrEqual(19);
      expect(result.interChunk.p50).toBeLessThan(40);
    } finally {
      await pool.close();
    }
  });

  it('counts a rejected stream as an error with its status', async () => {
    const pool = createPool(new URL(fake.url).origin, 2);
    try {
      const result = await runStreamTiming(pool, {
        path: '/v1/chat/completions', headers: { ...headers, authorization: 'Bearer wrong' }, rps: 10, durationMs: 200,
        bodyFor: () => JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(result.ok).toBe(0);
      expect(result.errorCount).toBe(2);
      expect(result.statuses).toEqual({ 401: 2 });
    } finally {
      await pool.close();
    }
  });
});

describe('runClosedLoad', () => {
  it('keeps every connection busy for the duration and tells answers from failures', async () => {
    const pool = createPool(new URL(fake.url).origin, 4);
    try {
      const result = await runClosedLoad(pool, {
        path: '/v1/chat/completions', headers, connections: 4, durationMs: 300,
        // Every third request names a model the fake does not serve: a 404 counted as an error.
        bodyFor: (i) => JSON.stringify({ model: i % 3 === 2 ? 'no-such-model' : 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }] }),
      });
      const answered = result.ok + result.errorCount;
      expect(result.ok).toBeGreaterThan(10);
      expect(result.statuses['404']).toBe(result.errorCount);
      expect(Math.abs(result.errorCount - answered / 3)).toBeLessThanOrEqual(2);
      expect(result.errorRate).toBeCloseTo(result.errorCount / answered, 3);
      expect(result.rps).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });
});
