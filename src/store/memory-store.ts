import type { SetOptions, Store } from './store.ts';
import { assertIncrement, normaliseTtlMs } from './validate.ts';

interface Entry {
  value: string | Set<string>;
  /** Absolute expiry in ms on the store's clock; null = no expiry. */
  expiresAt: number | null;
}

export interface MemoryStoreOptions {
  /** Clock in ms (defaults to Date.now); tests pass a controllable one. */
  now?: () => number;
  /**
   * How many entries each write inspects for expiry (an incremental sweep, like Redis' active expiry).
   * Every write adds at most one entry and checks up to this many, so expired entries cannot pile up.
   */
  sweepBatch?: number;
}

const WRONG_TYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const NOT_INTEGER = 'ERR value is not an integer or out of range';

/**
 * In-process `Store` for a one-machine run. Semantics follow Redis: expiry is checked lazily on every read
 * (exact), and each write also sweeps a few entries so memory is bounded without a timer; an empty set is
 * removed; `set` replaces any value and clears its TTL unless a new one is given; string commands on a set
 * (and vice versa) throw WRONGTYPE, except `getMany`, which reads them as null like MGET.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly #now: () => number;
  readonly #sweepBatch: number;
  readonly #entries = new Map<string, Entry>();
  readonly #subscribers = new Map<string, Set<(message: string) => void>>();
  #sweepCursor: Iterator<[string, Entry]> | null = null;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#sweepBatch = Math.max(1, options.sweepBatch ?? 20);
  }

  /** Number of entries held, including expired ones not swept yet (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<string | null> {
    const entry = this.#live(key);
    if (!entry) return null;
    if (typeof entry.value !== 'string') throw new Error(WRONG_TYPE);
    return entry.value;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.#assertOpen();
    return keys.map((key) => {
      const entry = this.#live(key);
      return entry && typeof entry.value === 'string' ? entry.value : null;
    });
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const ttlMs = options.ttlMs === undefined ? null : normaliseTtlMs(options.ttlMs);
    if (options.onlyIfAbsent && this.#live(key)) return false;
    this.#assertOpen();
    this.#entries.set(key, { value, expiresAt: ttlMs === null ? null : this.#now() + ttlMs });
    this.#sweep();
    return true;
  }

  async delete(...keys: string[]): Promise<number> {
    let existed = 0;
    for (const key of keys) {
      if (this.#live(key)) {
        this.#entries.delete(key);
        existed += 1;
      }
    }
    this.#assertOpen();
    this.#sweep();
    return existed;
  }

  async incrBy(key: string, by: number, options: { ttlMs?: number } = {}): Promise<number> {
    assertIncrement(by);
    const ttlMs = options.ttlMs === undefined ? null : normaliseTtlMs(options.ttlMs);
    const entry = this.#live(key);
    if (entry) {
      if (typeof entry.value !== 'string') throw new Error(WRONG_TYPE);
      if (!/^-?\d+$/.test(entry.value)) throw new Error(NOT_INTEGER);
      const next = Number(entry.value) + by;
      if (!Number.isSafeInteger(next)) throw new Error(NOT_INTEGER);
      entry.value = String(next);
      return next;
    }
    this.#entries.set(key, { value: String(by), expiresAt: ttlMs === null ? null : this.#now() + ttlMs });
    this.#sweep();
    return by;
  }

  async ttlMs(key: string): Promise<number | null> {
    const entry = this.#live(key);
    if (!entry || entry.expiresAt === null) return null;
    return entry.expiresAt - this.#now();
  }

  async addToSet(key: string, ...members: string[]): Promise<number> {
    let entry = this.#live(key);
    if (entry && typeof entry.value === 'string') throw new Error(WRONG_TYPE);
    if (members.length === 0) return 0;
    if (!entry) {
      entry = { value: new Set<string>(), expiresAt: null };
      this.#entries.set(key, entry);
    }
    const set = entry.value as Set<string>;
    const before = set.size;
    for (const member of members) set.add(member);
    this.#sweep();
    return set.size - before;
  }

  async removeFromSet(key: string, ...members: string[]): Promise<number> {
    const entry = this.#live(key);
    if (!entry) return 0;
    if (typeof entry.value === 'string') throw new Error(WRONG_TYPE);
    let removed = 0;
    for (const member of members) if (entry.value.delete(member)) removed += 1;
    if (entry.value.size === 0) this.#entries.delete(key);
    this.#sweep();
    return removed;
  }

  async setMembers(key: string): Promise<string[]> {
    const entry = this.#live(key);
    if (!entry) return [];
    if (typeof entry.value === 'string') throw new Error(WRONG_TYPE);
    return [...entry.value];
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    // Delivered on a later turn, as Redis would: a publisher never runs its subscribers' code inline.
    for (const subscriber of this.#subscribers.get(channel) ?? []) queueMicrotask(() => subscriber(message));
  }

  async subscribe(channel: string, handlers: { onMessage(message: string): void; onGap(): void }): Promise<() => Promise<void>> {
    this.#assertOpen();
    const subscriber = (message: string) => handlers.onMessage(message);
    const set = this.#subscribers.get(channel) ?? new Set();
    set.add(subscriber);
    this.#subscribers.set(channel, set);
    // One process, no connection to lose: there is never a gap.
    return async () => {
      set.delete(subscriber);
    };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
    this.#subscribers.clear();
    this.#sweepCursor = null;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('MemoryStore is closed');
  }

  /** The entry if it exists and has not expired; an expired one is removed on the way. */
  #live(key: string): Entry | undefined {
    this.#assertOpen();
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Inspects the next few entries (round robin over the map) and drops the expired ones. */
  #sweep(): void {
    const now = this.#now();
    for (let i = 0; i < this.#sweepBatch; i += 1) {
      this.#sweepCursor ??= this.#entries.entries();
      const next = this.#sweepCursor.next();
      if (next.done) {
        this.#sweepCursor = null;
        // One full pass is done; start the next pass on the next write.
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}
