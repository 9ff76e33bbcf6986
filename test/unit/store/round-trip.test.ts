import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { RoundTrip } from '../../../src/store/round-trip.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';

const redis = useRedisServer();

describe('RoundTrip', () => {
  it('sends every queued command in one pipeline, each with its own reply or error', async () => {
    const client = new Redis(redis.url);
    try {
      const pipelines = vi.spyOn(client, 'pipeline');
      const trip = new RoundTrip(client);
      const set = trip.call(['set', 'rt:a', '1']);
      const get = trip.call(['get', 'rt:a']);
      const wrongType = trip.call(['hget', 'rt:a', 'field']);
      expect(trip.size).toBe(3);
      await trip.send();
      expect(pipelines).toHaveBeenCalledTimes(1);
      expect(await set).toBe('OK');
      expect(await get).toBe('1');
      await expect(wrongType).rejects.toThrow(/WRONGTYPE/);
      expect(trip.size).toBe(0);
      await trip.send();
      expect(pipelines).toHaveBeenCalledTimes(1);
    } finally {
      client.disconnect();
    }
  });
});
