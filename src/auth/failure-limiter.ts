import type { AuthConfig } from '../config/types.ts';

type Limits = AuthConfig['failure_limit'];

export const DEFAULT_FAILURE_LIMIT: Limits = {
  enabled: true, max_failures: 20, window_seconds: 60, block_seconds: 300, max_tracked_addresses: 100_000,
};

interface Entry {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

/**
 * Counts failed authentications per client address. After `max_failures` within `window_seconds` the address is
 * blocked for `block_seconds`: every request from it gets 429 with Retry-After, valid credentials included, so a
 * guesser cannot keep trying. Kept in process memory (a hash map read on every request, written only on failures),
 * bounded by `max_tracked_addresses`: the oldest entry is dropped first. Each gateway process counts on its own,
 * so with N processes an address gets at most N × max_failures guesses per window.
 */
export class AuthFailureLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly limits: () => Limits;
  private readonly now: () => number;

  constructor(limits: () => Limits, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  /** Seconds until the address may try again; 0 when it is not blocked. */
  retryAfterSeconds(address: string | null): number {
    if (!address || !this.limits().enabled) return 0;
    const entry = this.entries.get(address);
    if (!entry) return 0;
    const left = entry.blockedUntil - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Records a failure; returns the seconds the address is now blocked for (0: not blocked yet). */
  recordFailure(address: string | null): number {
    const limits = this.limits();
    if (!address || !limits.enabled) return 0;
    const now = this.now();
    let entry = this.entries.get(address);
    if (!entry || now - entry.windowStart >= limits.window_seconds * 1000) {
      entry = { windowStart: now, failures: 0, blockedUntil: entry?.blockedUntil ?? 0 };
    }
    entry.failures++;
    if (entry.failures >= limits.max_failures) {
      entry.blockedUntil = now + limits.block_seconds * 1000;
      entry.failures = 0;
      entry.windowStart = now;
    }
    // Re-inserting keeps the map in order of last failure, so the first key is the stalest.
    this.entries.delete(address);
    this.entries.set(address, entry);
    while (this.entries.size > limits.max_tracked_addresses) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return entry.blockedUntil > now ? Math.ceil((entry.blockedUntil - now) / 1000) : 0;
  }

  get trackedAddresses(): number {
    return this.entries.size;
  }
}
