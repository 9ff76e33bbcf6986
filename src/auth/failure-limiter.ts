import type { AuthConfig } from '../config/types.ts';
import type { Store } from '../store/store.ts';

type Limits = AuthConfig['failure_limit'];

export const DEFAULT_FAILURE_LIMIT: Limits = {
  enabled: true, max_failures: 20, window_seconds: 60, block_seconds: 300, max_tracked_addresses: 100_000,
};

/** Every process hears of a block here, so an address blocked by one is blocked by all. */
export const AUTH_BLOCK_CHANNEL = 'tg:auth:blocked';
/** Failures of one address in the current window, counted by every process sharing the store (one hash slot each). */
const failureKey = (address: string) => `tg:auth:failures:{${address}}`;
const SUBSCRIBE_RETRY_MS = 5_000;

interface Entry {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

/**
 * Counts failed authentications per client address. After `max_failures` within `window_seconds` the address is
 * blocked for `block_seconds`: every request from it gets 429 with Retry-After, valid credentials included, so a
 * guesser cannot keep trying.
 *
 * Cost: a request reads one in-process map entry; only a failure talks to the store. With a shared store (Redis),
 * failures are counted there (one INCR with the window as TTL), so the limit holds across every gateway process,
 * and a block is published to all of them (pub/sub), which add it to their own map. If the store cannot count, the
 * process counts alone. Without a store (unit tests) everything is in process. The map is bounded by
 * `max_tracked_addresses`: the entry failing longest ago is dropped first.
 */
export class AuthFailureLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly limits: () => Limits;
  private readonly now: () => number;
  private readonly store: Store | null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(limits: () => Limits, now: () => number = Date.now, store: Store | null = null) {
    this.limits = limits;
    this.now = now;
    this.store = store;
  }

  /** Subscribes to blocks made by other processes (a store that is down is retried every few seconds). */
  async start(): Promise<void> {
    if (!this.store || this.unsubscribe || this.stopped) return;
    try {
      const unsubscribe = await this.store.subscribe(AUTH_BLOCK_CHANNEL, {
        onMessage: (message) => this.onBlockMessage(message),
        // A missed block is learnt again on the address's next failure (its count is still over the limit).
        onGap: () => undefined,
      });
      if (this.stopped) await unsubscribe();
      else this.unsubscribe = unsubscribe;
    } catch {
      this.retry = setTimeout(() => void this.start(), SUBSCRIBE_RETRY_MS);
      this.retry.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.();
  }

  /** Seconds until the address may try again; 0 when it is not blocked. */
  retryAfterSeconds(address: string | null): number {
    if (!address || !this.limits().enabled) return 0;
    const entry = this.entries.get(address);
    if (!entry) return 0;
    const left = entry.blockedUntil - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Records a failure; resolves with the seconds the address is now blocked for (0: not blocked yet). */
  async recordFailure(address: string | null): Promise<number> {
    const limits = this.limits();
    if (!address || !limits.enabled) return 0;
    const now = this.now();
    const entry = this.touch(address, now, limits);
    entry.failures++;
    let failures = entry.failures;
    if (this.store) {
      failures = await this.store.incrBy(failureKey(address), 1, { ttlMs: limits.window_seconds * 1000 }).catch(() => entry.failures);
    }
    if (failures >= limits.max_failures) {
      const until = now + limits.block_seconds * 1000;
      this.block(address, until);
      if (this.store) {
        // A fresh count once the block ends, and every process blocks the address now.
        await this.store.delete(failureKey(address)).catch(() => 0);
        await this.store.publish(AUTH_BLOCK_CHANNEL, JSON.stringify({ address, until })).catch(() => undefined);
      }
    }
    return entry.blockedUntil > now ? Math.ceil((entry.blockedUntil - now) / 1000) : 0;
  }

  get trackedAddresses(): number {
    return this.entries.size;
  }

  private onBlockMessage(message: string): void {
    try {
      const { address, until } = JSON.parse(message) as { address?: unknown; until?: unknown };
      if (typeof address === 'string' && typeof until === 'number' && Number.isFinite(until)) this.block(address, until);
    } catch {
      // not ours
    }
  }

  private block(address: string, until: number): void {
    const limits = this.limits();
    const entry = this.touch(address, this.now(), limits);
    entry.blockedUntil = Math.max(entry.blockedUntil, until);
    entry.failures = 0;
    entry.windowStart = this.now();
  }

  /** The address's entry, its window restarted when over, moved to the young end of the map (bounded). */
  private touch(address: string, now: number, limits: Limits): Entry {
    let entry = this.entries.get(address);
    if (!entry || now - entry.windowStart >= limits.window_seconds * 1000) {
      entry = { windowStart: now, failures: 0, blockedUntil: entry?.blockedUntil ?? 0 };
    }
    // Re-inserting keeps the map in order of last touch, so the first key is the stalest.
    this.entries.delete(address);
    this.entries.set(address, entry);
    while (this.entries.size > limits.max_tracked_addresses) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return entry;
  }
}
