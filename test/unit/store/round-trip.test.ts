import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { Coalescer, RoundTrip } from '../../../src/store/round-trip.ts';
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

  it('at the end of requests, gathers many requests’ commands into one write within the window; flush sends at once', async () => {
    const client = new Redis(redis.url);
    try {
      const coalescer = new Coalescer(client, { windowMs: 50, maxCommands: 1000 });
      const pipelines = vi.spyOn(client, 'pipeline');
      const trips = Array.from({ length: 10 }, (_, i) => {
        const trip = new RoundTrip(client, coalescer);
        trip.offCriticalPath = true;
        void trip.call(['set', `rt:end:${i}`, String(i)]);
        return trip.send();
      });
      await Promise.all(trips);
      expect(pipelines).toHaveBeenCalledTimes(1);
      expect(await client.get('rt:end:9')).toBe('9');

      const trip = new RoundTrip(client, coalescer);
      trip.offCriticalPath = true;
      const reply = trip.call(['set', 'rt:end:flushed', 'x']);
      const sent = trip.send();
      const started = Date.now();
      await coalescer.flush();
      await sent;
      expect(await reply).toBe('OK');
      expect(Date.now() - started).toBeLessThan(40);
    } finally {
      client.disconnect();
    }
  });
});
