import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { EndPhaseBatcher, RoundTrip } from '../../../src/store/round-trip.ts';
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

  it('sends the end phases of several requests together once the window closes, request phases at once', async () => {
    const client = new Redis(redis.url);
    const observer = new Redis(redis.url);
    try {
      const pipelines = vi.spyOn(client, 'pipeline');
      const batcher = new EndPhaseBatcher(client, { windowMs: 50 });
      // A request phase is not held: its reply is awaited on the client's path.
      const requestPhase = new RoundTrip(client, batcher);
      const reserved = requestPhase.call(['incr', 'rt:reserved']);
      await requestPhase.send();
      expect(await reserved).toBe(1);
      expect(pipelines).toHaveBeenCalledTimes(1);
      // Three requests end: their commands wait for the window, then leave in one pipeline.
      const ends = [1, 2, 3].map((n) => {
        const trip = new RoundTrip(client, batcher);
        trip.enterEndPhase();
        const reply = trip.call(['set', `rt:end:${n}`, String(n)]);
        return { sent: trip.send(), reply };
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await observer.get('rt:end:1')).toBeNull();
      await Promise.all(ends.map((end) => end.sent));
      expect(pipelines).toHaveBeenCalledTimes(2);
      expect(await Promise.all(ends.map((end) => end.reply))).toEqual(['OK', 'OK', 'OK']);
      expect(await observer.mget('rt:end:1', 'rt:end:2', 'rt:end:3')).toEqual(['1', '2', '3']);
    } finally {
      client.disconnect();
      observer.disconnect();
    }
  });

  it('flushes at once on shutdown, and with a zero window sends each end phase alone', async () => {
    const client = new Redis(redis.url);
    try {
      const held = new EndPhaseBatcher(client, { windowMs: 60_000 });
      const trip = new RoundTrip(client, held);
      trip.enterEndPhase();
      const reply = trip.call(['set', 'rt:shutdown', 'x']);
      const sent = trip.send();
      await held.flush();
      await sent;
      expect(await reply).toBe('OK');
      const pipelines = vi.spyOn(client, 'pipeline');
      const immediate = new EndPhaseBatcher(client, { windowMs: 0 });
      for (const n of [1, 2]) {
        const alone = new RoundTrip(client, immediate);
        alone.enterEndPhase();
        void alone.call(['set', `rt:alone:${n}`, 'x']);
        await alone.send();
      }
      expect(pipelines).toHaveBeenCalledTimes(2);
    } finally {
      client.disconnect();
    }
  });
});
