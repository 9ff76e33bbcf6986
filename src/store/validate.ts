/** Argument checks shared by both stores, so that both reject the same inputs the same way. */

/** A TTL must be a positive, finite number of ms; fractions round up (Redis PX takes whole ms). */
export function normaliseTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/** Counters are integers (INCRBY); callers count in integral units (tokens, micro-dollars). */
export function assertIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) throw new RangeError(`incrBy needs a safe integer, got ${by}`);
}
