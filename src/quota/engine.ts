import type { BudgetScope, LimitScope } from './config.ts';

/** A token bucket of one scope: `limit` per minute, refilled continuously. */
export interface BucketSpec {
  key: string;
  scope: LimitScope;
  scopeId: string;
  kind: 'requests' | 'tokens';
  /** Per minute; also the bucket's capacity (its burst). */
  limit: number;
}

/** A spend cap of one scope for one period (UTC day or month). */
export interface BudgetSpec {
  key: string;
  /** Marker keys claimed when a threshold is crossed, one per configured threshold (same order). */
  alertKeys: string[];
  scope: BudgetScope;
  scopeId: string;
  period: 'daily' | 'monthly';
  /** `2025-01-31` or `2025-01`. */
  periodLabel: string;
  /** End of the period (ms); a budget denial's Retry-After points there. */
  periodEndsAt: number;
  capNanoUsd: number;
  /** How long the counter outlives its period (ms from now). */
  ttlMs: number;
}

/** Every scope one request counts against; all keys of a plan share one hash tag (see plan.ts). */
export interface QuotaPlan {
  buckets: BucketSpec[];
  budgets: BudgetSpec[];
  thresholds: number[];
}

export interface Reservation {
  tokens: number;
  /** Integer nano-USD. */
  nanoUsd: number;
}

export type ReserveOutcome =
  | { admitted: true; levels: number[]; now: number }
  /** `retryMs` -1: the request alone exceeds the bucket's capacity. */
  | { admitted: false; kind: 'rate'; bucket: number; retryMs: number; levels: number[]; now: number }
  | { admitted: false; kind: 'budget'; budget: number; usedNanoUsd: number; now: number };

export interface CrossedThreshold {
  budget: number;
  percent: number;
  settledNanoUsd: number;
}

/**
 * Checks, reserves and settles quotas. One call per phase: `reserve` on the request path, `settle` when the
 * response ended. Two implementations with the same semantics: Redis Lua (shared by every replica) and in-process
 * memory (the embedded single-machine default).
 */
export interface QuotaEngine {
  reserve(plan: QuotaPlan, reservation: Reservation): Promise<ReserveOutcome>;
  /** `reserved` is what reserve took (zeros when the store failed open at reservation): the difference is refunded. */
  settle(plan: QuotaPlan, reserved: Reservation, actual: Reservation): Promise<CrossedThreshold[]>;
}

export const perMs = (perMinute: number): number => perMinute / 60_000;

/** What a bucket reservation costs: one request, or the reserved tokens. */
export const bucketCost = (bucket: BucketSpec, reservation: Reservation): number =>
  bucket.kind === 'requests' ? 1 : reservation.tokens;
