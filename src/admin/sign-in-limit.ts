import type { Store } from '../store/store.ts';
import { sha256 } from './dashboard-sessions.ts';

const KEY_PREFIX = 'tollgate:dashboard:sign-in-failures:';

/**
 * Failed dashboard sign-ins per client address in a fixed window (5 per minute by default): past the limit the sign-in
 * is refused before the token is even compared, with the seconds until the window ends for Retry-After. The counts
 * live in the configured store, so with Redis a client cannot spread its guesses over several Tollgate processes.
 * Addresses are stored as digests.
 */
export class SignInLimit {
  readonly #store: Store;
  readonly #maxFailures: number;
  readonly #windowMs: number;

  constructor(options: { store: Store; maxFailures?: number; windowMs?: number }) {
    this.#store = options.store;
    this.#maxFailures = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
  }

  /** Seconds to wait when this client has used up its failures in the current window; null when it may try. */
  async retryAfterSeconds(client: string): Promise<number | null> {
    const key = KEY_PREFIX + sha256(client);
    const failures = Number((await this.#store.get(key)) ?? 0);
    if (failures < this.#maxFailures) return null;
    const ttl = await this.#store.ttlMs(key);
    return Math.max(1, Math.ceil((ttl ?? this.#windowMs) / 1000));
  }

  /** Counts a failed attempt; the first failure of a window starts it. */
  async recordFailure(client: string): Promise<void> {
    await this.#store.incrBy(KEY_PREFIX + sha256(client), 1, { ttlMs: this.#windowMs });
  }
}
