import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_DECODED_NAMESPACES, RedisCacheBackend } from '../../../src/cache/redis-backend.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { textFeatures } from '../../../src/cache/near-miss.ts';
import { cacheBackendContract, entry } from './backend-contract.ts';

describe('redis cache backend (real redis-server)', () => {
  const redis = useRedisServer();
  const clients: Redis[] = [];
  afterAll(async () => Promise.all(clients.map((client) => client.quit())));
  const make = async (limits: { maxEntries: number; maxBytes: number }) => {
    const client = new Redis(redis.url);
    clients.push(client);
    return new RedisCacheBackend(client, { ...limits, maxRecordsPerNamespace: 100 });
  };
  cacheBackendContract(make, async () => void (await redis.admin.flushall()));

  it('bounds Redis itself: expiring keys, an index and a byte counter that match what is stored', async () => {
    const backend = await make({ maxEntries: 2, maxBytes: 1_000_000 });
    const now = Date.now();
    for (const key of ['a', 'b', 'c']) await backend.put(key, entry(`{"k":"${key}"}`, now, 60_000));
    const entryKeys = await redis.admin.keys('tollgate:{tollgate-cache}:e:*');
    expect(entryKeys).toHaveLength(2);
    for (const key of entryKeys) expect(await redis.admin.pttl(key)).toBeGreaterThan(0);
    expect(await redis.admin.zcard('tollgate:{tollgate-cache}:index')).toBe(2);
    const sizes = await redis.admin.hvals('tollgate:{tollgate-cache}:sizes');
    expect(Number(await redis.admin.get('tollgate:{tollgate-cache}:bytes'))).toBe(sizes.reduce((sum, size) => sum + Number(size), 0));
  });

  it('shares entries between two gateways on one Redis', async () => {
    const writer = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    const reader = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    await writer.put('shared', entry('{"shared":true}', Date.now()));
    expect((await reader.get('shared'))?.body).toBe('{"shared":true}');
  });

  it('keeps decoded semantic records per process, yet sees new, expired and evicted questions of other gateways', async () => {
    const writer = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    const reader = await make({ maxEntries: 10, maxBytes: 1_000_000 });
    const record = (key: string, x: number) => ({ key, vector: Float32Array.from([x, 1 - x]), features: textFeatures(`question ${key}`) });
    await writer.put('q1', entry('{"a":1}', Date.now()), { namespace: 'ns', record: record('q1', 0.1) });
    expect((await reader.semanticRecords('ns')).map((r) => r.key)).toEqual(['q1']);
    await writer.put('q2', entry('{"a":2}', Date.now()), { namespace: 'ns', record: record('q2', 0.2) });
    const both = await reader.semanticRecords('ns');
    expect(both.map((r) => r.key).sort()).toEqual(['q1', 'q2']);
    expect(Array.from(both.find((r) => r.key === 'q2')?.vector ?? [])).toEqual([Math.fround(0.2), Math.fround(0.8)]);
    // The namespace goes away in Redis (expiry, eviction, flush): the reader's copy follows.
    await redis.admin.flushall();
    expect(await reader.semanticRecords('ns')).toEqual([]);
  });

  it('bounds the per-process copy of decoded records by namespaces, least recently used out first', async () => {
    const writer = await make({ maxEntries: 1000, maxBytes: 10_000_000 });
    const reader = (await make({ maxEntries: 1000, maxBytes: 10_000_000 })) as RedisCacheBackend;
    const count = MAX_DECODED_NAMESPACES + 10;
    for (let i = 0; i < count; i += 1) {
      const key = `k${i}`;
      await writer.put(key, entry('{"a":1}', Date.now()), { namespace: `ns${i}`, record: { key, vector: Float32Array.from([1, 0]), features: textFeatures(`question ${i}`) } });
      expect((await reader.semanticRecords(`ns${i}`)).map((r) => r.key)).toEqual([key]);
    }
    expect(reader.decodedNamespaces).toBe(MAX_DECODED_NAMESPACES);
    // An evicted namespace is read from Redis again, whole.
    expect((await reader.semanticRecords('ns0')).map((r) => r.key)).toEqual(['k0']);
    expect(reader.decodedNamespaces).toBe(MAX_DECODED_NAMESPACES);
  });
});
