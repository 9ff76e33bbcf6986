import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../../src/store/create-store.ts';
import { RedisStore } from '../../../src/store/redis-store.ts';
import { freePort } from '../../helpers/free-port.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { storeContract } from './contract.ts';

const redis = useRedisServer();

storeContract('RedisStore', async () => {
  await redis.admin.flushall();
  const store = new RedisStore({ url: redis.url });
  return { store, cleanup: () => store.close() };
});

describe('RedisStore', () => {
  it('fails fast with an error when Redis is down, instead of hanging', async () => {
    const errors: Error[] = [];
    const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, onError: (e) => errors.push(e) });
    try {
      // Several calls in a row: each must fail quickly, also once the client is deep in its reconnection loop.
      const calls: Array<() => Promise<unknown>> = [
        () => store.get('k'),
        () => store.ping(),
        () => store.incrBy('k', 1),
        () => store.set('k', 'v'),
        () => store.get('k'),
      ];
      for (const call of calls) {
        const started = Date.now();
        await expect(call()).rejects.toThrow();
        expect(Date.now() - started).toBeLessThan(2_000);
      }
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('times out a command when Redis accepts the connection but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const store = new RedisStore({ url: `redis://127.0.0.1:${address.port}`, commandTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(store.get('k')).rejects.toThrow(/timed out/i);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('uses an existing client and leaves it open on close', async () => {
    const client = new Redis(redis.url);
    try {
      const store = new RedisStore({ client });
      await store.set('shared', 'v');
      await store.close();
      expect(await client.get('shared')).toBe('v');
    } finally {
      await client.quit();
    }
  });

  it('recovers the incrBy script after SCRIPT FLUSH', async () => {
    const store = new RedisStore({ url: redis.url });
    try {
      await store.incrBy('script', 1);
      await redis.admin.script('FLUSH');
      expect(await store.incrBy('script', 1)).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('a subscription that lost its connection reports the gap, subscribes again and keeps delivering', async () => {
    const store = new RedisStore({ url: redis.url });
    try {
      const heard: string[] = [];
      await store.subscribe('gap-test', { onMessage: (m) => heard.push(m), onGap: () => heard.push('gap') });
      await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      const deadline = Date.now() + 5000;
      // Published until the resubscribed connection hears one (those sent while it was down are lost: the gap).
      while (!heard.includes('after') && Date.now() < deadline) {
        await store.publish('gap-test', 'after');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(heard).toContain('gap');
      expect(heard.indexOf('gap')).toBeLessThan(heard.indexOf('after'));
    } finally {
      await store.close();
    }
  });

  it('createStore builds a Redis store from a url', async () => {
    const store = createStore({ type: 'redis', url: redis.url });
    try {
      expect(store.kind).toBe('redis');
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
