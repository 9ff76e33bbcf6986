/**
 * The shared-state contract. Two implementations: `MemoryStore` (embedded default for a one-machine run) and
 * `RedisStore` (ioredis; Cluster-ready callers keep multi-key operations in one hash slot). The same contract
 * tests (test/unit/store/contract.ts) run against both, Redis being a real redis-server.
 */
export interface SetOptions {
  /** Expire the key after this many milliseconds. */
  ttlMs?: number;
  /** Only set when the key does not exist yet (SET NX). */
  onlyIfAbsent?: boolean;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  /** Gets several keys in one round trip; missing keys are null, in the order asked. */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  /** Returns false only when `onlyIfAbsent` was asked and the key existed. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Returns how many of the keys existed. */
  delete(...keys: string[]): Promise<number>;
  /** Atomically adds `by` (may be negative) and returns the new value; a new key starts at 0 and gets `ttlMs`. */
  incrBy(key: string, by: number, options?: { ttlMs?: number }): Promise<number>;
  /** Remaining time to live in ms; null when the key has no expiry or does not exist. */
  ttlMs(key: string): Promise<number | null>;
  addToSet(key: string, ...members: string[]): Promise<number>;
  removeFromSet(key: string, ...members: string[]): Promise<number>;
  setMembers(key: string): Promise<string[]>;
  /** Sends `message` to every subscriber of `channel`, in every process sharing the store (Redis PUBLISH). */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `onMessage` for each message published on `channel` from now on. `onGap` hears when messages may have
   * been missed (the subscription's connection dropped and came back): a subscriber that caches state drops it
   * then. Resolves once subscribed, with a function that unsubscribes.
   */
  subscribe(channel: string, handlers: { onMessage(message: string): void; onGap(): void }): Promise<() => Promise<void>>;
  /** Throws when the store cannot serve requests (used by /healthz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
