import type { RoundTrip } from '../store/round-trip.ts';
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
  /** The org's marker that its budget counters are in step with the ledger (see rebuild.ts); same hash tag. */
  syncMarker: string;
  /**
   * The request's own reservation record (plan.ts reservationKey), same hash tag; set by the stage. With it, a
   * settlement refunds what the store holds for the request, whatever the caller believes it reserved.
   */
  reservationKey?: string;
}

export interface Reservation {
  tokens: number;
  /** Integer nano-USD. */
  nanoUsd: number;
}

export type ReserveOutcome = (
  /** `leased`: granted with a lease request, the extra each bucket, then each budget, gave (redis-engine.ts). */
  | { admitted: true; levels: number[]; now: number; leased?: number[] }
  /** `retryMs` -1: the request alone exceeds the bucket's capacity. */
  | { admitted: false; kind: 'rate'; bucket: number; retryMs: number; levels: number[]; now: number }
  | { admitted: false; kind: 'budget'; budget: number; usedNanoUsd: number; now: number }
  /** Nothing reserved: the store lost the budget counters, which must be rebuilt before deciding (rebuild.ts). */
  | { admitted: false; kind: 'unsynced'; now: number }
) & {
  /**
   * The store has lost its counters of this org since they were last rebuilt from the ledger (its marker key is
   * gone: Redis restarted without persistence, FLUSHALL, a failover to an empty replica); see rebuild.ts.
   */
  countersLost?: boolean;
};

/**
 * A Redis command of another stage that is due at the same moment as a quota call: the ledger's queue entry of the
 * request (pending at admission, final at settlement). The Redis engine sends it in the same round trip as its
 * script; `done` hears the command's own outcome.
 */
export interface RideAlong {
  args: [command: string, ...args: string[]];
  done(error: Error | null): void;
}

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
  /** Sends `along` with the reservation when it can (Redis); an engine without a round trip to share refuses it. */
  reserve(plan: QuotaPlan, reservation: Reservation, along?: RideAlong[], roundTrip?: RoundTrip | null): Promise<ReserveOutcome>;
  /** `reserved` is what reserve took (zeros when the store failed open at reservation): the difference is refunded. */
  settle(plan: QuotaPlan, reserved: Reservation, actual: Reservation, along?: RideAlong[], roundTrip?: RoundTrip | null): Promise<CrossedThreshold[]>;
  /**
   * Releases the reservation of a request that will never settle (its process died: the ledger closed its record
   * as orphaned), from the store's reservation record (plan.reservationKey); a later settlement of the same request
   * still counts its spend, once. Engines without reservation records have nothing to release.
   */
  releaseOrphan?(plan: QuotaPlan): Promise<void>;
  /** Whether `along` commands are sent (false: the caller sends them itself). */
  readonly sharesRoundTrips: boolean;
}

export const perMs = (perMinute: number): number => perMinute / 60_000;

/** What a bucket reservation costs: one request, or the reserved tokens. */
export const bucketCost = (bucket: BucketSpec, reservation: Reservation): number =>
  bucket.kind === 'requests' ? 1 : reservation.tokens;
