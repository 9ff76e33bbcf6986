import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import type { SetOptions, Store } from './store.ts';
import { assertIncrement, normaliseTtlMs } from './validate.ts';

/**
 * INCRBY that gives the key a TTL only when this call created it: an existing counter keeps its TTL (or its
 * lack of one). One key, so it is Cluster-safe. (`PEXPIRE NX` would also put a TTL on an existing key that had
 * none, which is not what the contract says.)
 */
const INCR_BY_LUA = `
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if existed == 0 and ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return value
`;
const INCR_BY_SHA = createHash('sha1').update(INCR_BY_LUA).digest('hex');

/** Exponential from 50 ms, capped at 500 ms, with a little jitter so many gateways do not reconnect in step. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** (attempt - 1), 500) + Math.floor(Math.random() * 50);
}

export type RedisClient = Redis | Cluster;

export type RedisStoreOptions = (
  | {
      url: string;
      /** Give up one connection attempt after this long; default 2000 ms. */
      connectTimeoutMs?: number;
      /**
       * Reject a command that has no reply after this long, time spent queued while disconnected included;
       * default 2000 ms. This is the bound for a Redis that is unreachable without refusing (packets dropped).
       */
      commandTimeoutMs?: number;
    }
  | {
      /** An existing client; the caller owns it, so `close()` leaves it open. */
      client: RedisClient;
    }
) & {
  /**
   * Connection errors (refused, reset…) are reported here; commands still reject on their own. Without it they
   * are swallowed here rather than printed by ioredis as "Unhandled error event".
   */
  onError?: (error: Error) => void;
};

/**
 * `Store` on Redis through ioredis.
 *
 * Cluster: multi-key commands (`getMany` = MGET, `delete` with several keys = DEL) need all their keys in one
 * hash slot there; callers that use them with several keys hash-tag those keys (e.g. `{tenant}:...`).
 *
 * Fail fast: the client is built with `maxRetriesPerRequest: 1`, reconnection delays capped at ~0.5 s and a
 * command timeout, so when Redis is down a command rejects (within ~1 s for a refused connection, within the
 * command timeout when packets are dropped) instead of hanging the request that issued it; the client keeps
 * reconnecting in the background and recovers by itself. ioredis 6's default reconnection backoff grows to 5 s,
 * and with it the time a queued command waits before `maxRetriesPerRequest` fails it (measured: 10 s), hence
 * the capped strategy.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #onError: (error: Error) => void;
  readonly #subscribers = new Set<RedisClient>();

  constructor(options: RedisStoreOptions) {
    this.#onError = options.onError ?? (() => {});
    if ('client' in options) {
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      this.client = new Redis(options.url, {
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        connectTimeout: options.connectTimeoutMs ?? 2000,
        commandTimeout: options.commandTimeoutMs ?? 2000,
        retryStrategy: reconnectDelayMs,
        // Commands issued in the same tick (auth lookup, quota script, cache read, ledger entry of concurrent
        // requests) leave in one socket write: fewer syscalls on both sides under load, same replies.
        enableAutoPipelining: true,
      });
      this.#ownsClient = true;
    }
    this.client.on('error', (error: Error) => this.#onError(error));
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.client.mget(...keys);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const ttlMs = options.ttlMs === undefined ? null : normaliseTtlMs(options.ttlMs);
    let reply: 'OK' | null;
    if (ttlMs !== null) {
      reply = options.onlyIfAbsent
        ? await this.client.set(key, value, 'PX', ttlMs, 'NX')
        : await this.client.set(key, value, 'PX', ttlMs);
    } else {
      reply = options.onlyIfAbsent ? await this.client.set(key, value, 'NX') : await this.client.set(key, value);
    }
    return reply === 'OK';
  }

  async delete(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.client.del(...keys);
  }

  async incrBy(key: string, by: number, options: { ttlMs?: number } = {}): Promise<number> {
    assertIncrement(by);
    const ttlMs = options.ttlMs === undefined ? 0 : normaliseTtlMs(options.ttlMs);
    let reply: unknown;
    try {
      reply = await this.client.evalsha(INCR_BY_SHA, 1, key, by, ttlMs);
    } catch (error) {
      // First use on this server (or after SCRIPT FLUSH / a failover): send the script itself, which caches it.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await this.client.eval(INCR_BY_LUA, 1, key, by, ttlMs);
    }
    return Number(reply);
  }

  async ttlMs(key: string): Promise<number | null> {
    const ttl = await this.client.pttl(key);
    // -2: no such key, -1: no expiry.
    return ttl < 0 ? null : ttl;
  }

  async addToSet(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.client.sadd(key, ...members);
  }

  async removeFromSet(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.client.srem(key, ...members);
  }

  async setMembers(key: string): Promise<string[]> {
    return this.client.smembers(key);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message);
  }

  /**
   * One subscriber connection per subscription (a connection in subscribe mode serves nothing else). After it
   * reconnects, ioredis subscribes again by itself; whatever was published meanwhile is lost, hence `onGap`.
   */
  async subscribe(channel: string, handlers: { onMessage(message: string): void; onGap(): void }): Promise<() => Promise<void>> {
    const subscriber: RedisClient = this.client instanceof Redis ? this.client.duplicate({ enableAutoPipelining: false }) : this.client.duplicate();
    subscriber.on('error', (error: Error) => this.#onError(error));
    let connected = false;
    let unsubscribed = false;
    subscriber.on('ready', () => {
      if (connected && !unsubscribed) handlers.onGap();
      connected = true;
    });
    subscriber.on('close', () => {
      // Already a gap while down: messages published now are lost.
      if (connected && !unsubscribed) handlers.onGap();
    });
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel && !unsubscribed) handlers.onMessage(message);
    });
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    this.#subscribers.add(subscriber);
    return async () => {
      unsubscribed = true;
      this.#subscribers.delete(subscriber);
      subscriber.disconnect();
    };
  }

  async ping(): Promise<void> {
    const reply = await this.client.ping();
    if (reply !== 'PONG') throw new Error(`Redis PING answered ${String(reply)}`);
  }

  async close(): Promise<void> {
    for (const subscriber of this.#subscribers) subscriber.disconnect();
    this.#subscribers.clear();
    if (!this.#ownsClient) return;
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // Fall through to a hard disconnect.
      }
    }
    this.client.disconnect();
  }
}
