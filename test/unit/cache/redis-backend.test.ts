import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCacheBackend } from '../../../src/cache/redis-backend.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
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
});
