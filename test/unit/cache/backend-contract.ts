import { beforeEach, expect, it } from 'vitest';
import type { CacheBackend } from '../../../src/cache/cache-backend.ts';
import type { CacheEntry } from '../../../src/cache/cache-entry.ts';
import { textFeatures } from '../../../src/cache/near-miss.ts';

export function entry(body: string, now: number, ttlMs = 60_000, staleMs = 0): CacheEntry {
  return { kind: 'json', body, usage: null, provider: 'p', storedAt: now, expiresAt: now + ttlMs, staleUntil: now + ttlMs + staleMs };
}

/** The behaviour both cache backends promise; run against memory and against a real redis-server. */
export function cacheBackendContract(make: (limits: { maxEntries: number; maxBytes: number }) => Promise<CacheBackend>, reset: () => Promise<void>) {
  beforeEach(reset);

  it('stores and returns an entry', async () => {
    const backend = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    await backend.put('a', entry('{"x":1}', Date.now()));
    expect((await backend.get('a'))?.body).toBe('{"x":1}');
    expect(await backend.get('missing')).toBeNull();
  });

  it('stays within the entry limit, evicting the entry closest to its end first', async () => {
    const backend = await make({ maxEntries: 3, maxBytes: 1_000_000 });
    const now = Date.now();
    await backend.put('short', entry('1', now, 10_000));
    await backend.put('long1', entry('2', now, 60_000));
    await backend.put('long2', entry('3', now, 60_000));
    await backend.put('long3', entry('4', now, 60_000));
    expect(await backend.get('short')).toBeNull();
    for (const key of ['long1', 'long2', 'long3']) expect(await backend.get(key), key).not.toBeNull();
  });

  it('stays within the byte limit', async () => {
    const backend = await make({ maxEntries: 1000, maxBytes: 2_000 });
    const now = Date.now();
    for (let i = 0; i < 10; i++) await backend.put(`k${i}`, entry('x'.repeat(400), now, 60_000 + i));
    const kept = (await Promise.all(Array.from({ length: 10 }, (_, i) => backend.get(`k${i}`)))).filter(Boolean);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(await backend.get('k9')).not.toBeNull();
  });

  it('forgets entries after their stale window', async () => {
    const backend = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    await backend.put('soon', entry('1', Date.now(), 50));
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await backend.get('soon')).toBeNull();
  });

  it('keeps semantic records per namespace and returns their vectors intact', async () => {
    const backend = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    const vector = Float32Array.from([0.6, 0.8, 0]);
    const features = textFeatures('What is the capital of France?');
    await backend.put('e1', entry('1', Date.now()), { namespace: 'ns1', record: { key: 'e1', vector, features } });
    const records = await backend.semanticRecords('ns1');
    expect(records).toHaveLength(1);
    expect(Array.from(records[0]?.vector ?? [])).toEqual(Array.from(vector));
    expect(records[0]?.features).toEqual(features);
    expect(await backend.semanticRecords('ns2')).toEqual([]);
  });

  it('counts verified outcomes per calibration scope and bucket', async () => {
    const backend = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    expect((await backend.outcomes('scope-a')).agreed.every((count) => count === 0)).toBe(true);
    await backend.recordOutcome('scope-a', 91, true);
    await backend.recordOutcome('scope-a', 91, true);
    await backend.recordOutcome('scope-a', 84, false);
    await backend.recordOutcome('scope-b', 91, false);
    const a = await backend.outcomes('scope-a');
    expect([a.agreed[91], a.disagreed[91], a.agreed[84], a.disagreed[84]]).toEqual([2, 0, 0, 1]);
    const b = await backend.outcomes('scope-b');
    expect([b.agreed[91], b.disagreed[91]]).toEqual([0, 1]);
  });
}
