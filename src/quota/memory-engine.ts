import { bucketCost, perMs, type CrossedThreshold, type QuotaEngine, type QuotaPlan, type Reservation, type ReserveOutcome } from './engine.ts';

interface Bucket {
  level: number;
  at: number;
  expiresAt: number;
}

interface Budget {
  used: number;
  settled: number;
  expiresAt: number;
}

/**
 * The embedded default's quotas, in process: the same semantics as the Lua scripts (see lua/*.lua), on this
 * process's clock. Atomic because each call runs to completion on the event loop. Entries expire like the Redis
 * keys; each call sweeps a few, so memory stays bounded without a timer.
 */
export class MemoryQuotaEngine implements QuotaEngine {
  /** No round trip to share: callers write their own entries. */
  readonly sharesRoundTrips = false;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #budgets = new Map<string, Budget>();
  readonly #alerts = new Map<string, number>();
  readonly #cursors = new Map<Map<string, { expiresAt: number }>, Iterator<[string, { expiresAt: number }]> | undefined>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async reserve(plan: QuotaPlan, reservation: Reservation): Promise<ReserveOutcome> {
    const now = Math.floor(this.#now());
    this.#sweep(now);
    for (const [index, spec] of plan.budgets.entries()) {
      const used = this.#budget(spec.key, now)?.used ?? 0;
      if (used + reservation.nanoUsd > spec.capNanoUsd) return { admitted: false, kind: 'budget', budget: index, usedNanoUsd: used, now };
    }
    const levels = plan.buckets.map((spec) => this.#level(spec.key, spec.limit, now));
    let short = -1;
    let wait = 0;
    plan.buckets.forEach((spec, index) => {
      const cost = bucketCost(spec, reservation);
      const level = levels[index] as number;
      if (level >= cost) return;
      const w = cost <= spec.limit ? Math.ceil((cost - level) / perMs(spec.limit)) : -1;
      if (short === -1 || (wait !== -1 && (w === -1 || w > wait))) [short, wait] = [index, w];
    });
    if (short !== -1) return { admitted: false, kind: 'rate', bucket: short, retryMs: wait, levels: levels.map(Math.floor), now };
    plan.buckets.forEach((spec, index) => {
      const level = (levels[index] as number) - bucketCost(spec, reservation);
      this.#setLevel(spec.key, spec.limit, level, now);
      levels[index] = Math.floor(level);
    });
    for (const spec of plan.budgets) {
      if (reservation.nanoUsd <= 0) continue;
      const budget = this.#budget(spec.key, now) ?? { used: 0, settled: 0, expiresAt: 0 };
      budget.used += reservation.nanoUsd;
      budget.expiresAt = now + spec.ttlMs;
      this.#budgets.set(spec.key, budget);
    }
    return { admitted: true, levels, now };
  }

  async settle(plan: QuotaPlan, reserved: Reservation, actual: Reservation): Promise<CrossedThreshold[]> {
    const now = Math.floor(this.#now());
    for (const spec of plan.buckets) {
      const refund = spec.kind === 'tokens' ? reserved.tokens - actual.tokens : 0;
      if (refund === 0) continue;
      this.#setLevel(spec.key, spec.limit, Math.min(spec.limit, this.#level(spec.key, spec.limit, now) + refund), now);
    }
    const crossed: CrossedThreshold[] = [];
    plan.budgets.forEach((spec, index) => {
      const budget = this.#budget(spec.key, now) ?? { used: 0, settled: 0, expiresAt: 0 };
      const before = budget.settled;
      if (reserved.nanoUsd !== 0 || actual.nanoUsd !== 0) {
        budget.settled += actual.nanoUsd;
        budget.used = Math.max(budget.used + actual.nanoUsd - reserved.nanoUsd, budget.settled);
        budget.expiresAt = now + spec.ttlMs;
        this.#budgets.set(spec.key, budget);
      }
      plan.thresholds.forEach((percent, k) => {
        const mark = (spec.capNanoUsd * percent) / 100;
        const alertKey = spec.alertKeys[k] as string;
        if (before >= mark || budget.settled < mark || (this.#alerts.get(alertKey) ?? 0) > now) return;
        this.#alerts.set(alertKey, now + spec.ttlMs);
        crossed.push({ budget: index, percent, settledNanoUsd: budget.settled });
      });
    });
    return crossed;
  }

  #level(key: string, capacity: number, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket || bucket.expiresAt <= now) return capacity;
    return Math.min(capacity, bucket.level + Math.max(0, now - bucket.at) * perMs(capacity));
  }

  #setLevel(key: string, capacity: number, level: number, now: number): void {
    this.#buckets.set(key, { level, at: now, expiresAt: now + Math.ceil((capacity - level) / perMs(capacity)) + 1000 });
  }

  #budget(key: string, now: number): Budget | undefined {
    const budget = this.#budgets.get(key);
    return budget && budget.expiresAt > now ? budget : undefined;
  }

  /** Inspects a few entries per call, round robin over each map (like Redis' active expiry), and drops expired ones. */
  #sweep(now: number): void {
    for (const map of [this.#buckets, this.#budgets] as Array<Map<string, { expiresAt: number }>>) {
      let cursor = this.#cursors.get(map);
      for (let i = 0; i < 8; i += 1) {
        cursor ??= map.entries();
        const next = cursor.next();
        if (next.done) {
          cursor = undefined;
          break;
        }
        if (next.value[1].expiresAt <= now) map.delete(next.value[0]);
      }
      this.#cursors.set(map, cursor);
    }
    for (const [key, expiresAt] of this.#alerts) {
      if (expiresAt > now) break;
      this.#alerts.delete(key);
    }
  }
}
