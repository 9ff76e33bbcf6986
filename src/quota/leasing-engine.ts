import type { RoundTrip } from '../store/round-trip.ts';
import type { QuotaLeaseConfig } from './config.ts';
import {
  bucketCost, type BudgetSpec, type BucketSpec, type CrossedThreshold, type QuotaEngine, type QuotaPlan, type Reservation, type ReserveOutcome,
  type RideAlong,
} from './engine.ts';
import type { RedisQuotaEngine } from './redis-engine.ts';

/**
 * A scope must lend at least this many times the request's cost, or no lease is taken at all: with the headroom
 * fraction, leases stop once a scope's headroom is under (multiple / fraction) requests' worth (40 by default).
 */
const WORTHWHILE_MULTIPLE = 4;
/** An expired lease with nothing left is forgotten after this long unused. */
const FORGET_AFTER_MS = 60_000;

/** What one process holds of one scope (a bucket or a budget): taken from Redis ahead of the requests using it. */
interface Lease {
  /** Still lendable here: requests/tokens of a bucket, nano-USD of a budget. */
  left: number;
  expiresAt: number;
  /** A bucket's level in Redis after the last grant, for the x-ratelimit-remaining headers. */
  level: number;
  scope: { bucket: BucketSpec } | { budget: BudgetSpec };
  /** The org's sync marker: what is sent back is grouped by org (one hash tag per script call). */
  org: string;
}

/** What is due to Redis for one org: bucket refunds, and per budget what leases reserved and requests spent. */
interface Due {
  /** The plan's alert thresholds (empty until a request's settlement brings them). */
  thresholds: number[];
  buckets: Map<string, { bucket: BucketSpec; refund: number }>;
  budgets: Map<string, { budget: BudgetSpec; reservedNanoUsd: number; actualNanoUsd: number }>;
}

interface Demand {
  second: number;
  count: number;
  previous: number;
}

/**
 * Quota leases: under load, a process takes a slice of each scope's headroom from Redis together with one request
 * (lua/reserve.lua's lease section), then admits the next requests of the same scopes from that slice in process,
 * with no Redis round trip and no script. Settlement stays exact: token refunds go back into the lease, the spend
 * of every request reaches the budget counters (`s`) in one script per `settle_flush_ms` (threshold alerts
 * included), and whatever a lease still holds after `lease_ms` goes back to Redis.
 *
 * Why it is safe:
 * - A limit is never overshot: a lease is taken out of the shared counters before anything is admitted from it.
 * - Near a limit leases vanish: a scope lends at most `max_headroom_fraction` of its headroom, and a lease is taken
 *   only when every scope of the request can lend at least four times its cost; otherwise the request is reserved and
 *   settled exactly as without leases (with its reservation record). Tight limits thus behave exactly as before.
 * - Leases are asked for only once a process sees `min_requests_per_second` requests of those scopes: at low rates
 *   the per-request script is cheap and exactness costs nothing.
 * What it costs: another process may be refused while this one still holds unused headroom (at most a fraction of
 * it, for at most `lease_ms`), and a process killed with a lease in hand leaves what the lease held counted as
 * reserved: a rate bucket refills within its minute; a budget stays short of that amount until its period ends
 * (the ledger and the settled spend stay exact). While Redis is unreachable, a live lease still admits until it
 * expires.
 */
export class LeasingQuotaEngine implements QuotaEngine {
  readonly sharesRoundTrips = true;
  readonly #inner: RedisQuotaEngine;
  readonly #config: () => QuotaLeaseConfig;
  readonly #now: () => number;
  readonly #onCrossed: (plan: QuotaPlan, crossed: CrossedThreshold[]) => void;
  readonly #onError: (error: unknown) => void;
  readonly #leases = new Map<string, Lease>();
  readonly #demand = new Map<string, Demand>();
  /** Lease requests in flight, by leaseKey. */
  readonly #refreshing = new Map<string, Promise<void>>();
  /** Plans (one per request) whose reservation came from leases: they settle here. */
  readonly #leased = new WeakSet<QuotaPlan>();
  /** What is due to Redis per org, sent with the next flush. */
  readonly #due = new Map<string, Due>();
  #flushTimer: NodeJS.Timeout | null = null;
  readonly #sweepTimer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();

  constructor(inner: RedisQuotaEngine, options: {
    config: () => QuotaLeaseConfig;
    now?: () => number;
    onCrossed: (plan: QuotaPlan, crossed: CrossedThreshold[]) => void;
    onError: (error: unknown) => void;
  }) {
    this.#inner = inner;
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#onCrossed = options.onCrossed;
    this.#onError = options.onError;
    this.#sweepTimer = setInterval(() => void this.#sweep(this.#now(), false), 100);
    this.#sweepTimer.unref();
  }

  async reserve(plan: QuotaPlan, reservation: Reservation, along: RideAlong[] = [], roundTrip: RoundTrip | null = null): Promise<ReserveOutcome> {
    const config = this.#config();
    if (!config.enabled) return this.#inner.reserve(plan, reservation, along, roundTrip);
    const now = this.#now();
    // Every request counts towards the demand, those the leases admit too.
    const busy = this.#busy(plan, now, config);
    if (this.#takeLocally(plan, reservation, now)) return this.#admitLocally(plan, along, roundTrip, now);
    if (!busy) return this.#inner.reserve(plan, reservation, along, roundTrip);
    // One lease request at a time per set of scopes: the others wait for it once, then take from it, or (when it
    // did not cover them) reserve exactly, all at once. A burst thus takes one lease, not one each.
    const scopes = leaseKey(plan);
    const inFlight = this.#refreshing.get(scopes);
    if (inFlight) {
      await inFlight;
      if (this.#takeLocally(plan, reservation, this.#now())) return this.#admitLocally(plan, along, roundTrip, now);
      return this.#inner.reserve(plan, reservation, along, roundTrip);
    }
    const wants = [
      ...plan.buckets.map((bucket) => bucketCost(bucket, reservation) * config.lease_requests),
      ...plan.budgets.map(() => reservation.nanoUsd * config.lease_requests),
    ];
    let opened!: () => void;
    this.#refreshing.set(scopes, new Promise<void>((resolve) => { opened = resolve; }));
    let outcome: ReserveOutcome;
    try {
      outcome = await this.#inner.reserve(plan, reservation, along, roundTrip, {
        divisor: 1 / config.max_headroom_fraction, multiple: WORTHWHILE_MULTIPLE, wants,
      });
    } finally {
      this.#refreshing.delete(scopes);
      // The waiters run after this request's own continuation below has recorded the lease.
      queueMicrotask(opened);
    }
    if (outcome.admitted && outcome.leased) {
      this.#leased.add(plan);
      const expiresAt = this.#now() + config.lease_ms;
      const nb = plan.buckets.length;
      plan.buckets.forEach((bucket, i) => this.#grant(bucket.key, { bucket }, plan, outcome.leased?.[i] ?? 0, expiresAt, outcome.levels[i] ?? 0));
      plan.budgets.forEach((budget, j) => this.#grant(budget.key, { budget }, plan, outcome.leased?.[nb + j] ?? 0, expiresAt, 0));
      // What the lease holds is still there for this process's requests: the headers count it in.
      return { ...outcome, levels: plan.buckets.map((bucket) => this.#visibleLevel(bucket)) };
    }
    return outcome;
  }

  async #admitLocally(plan: QuotaPlan, along: RideAlong[], roundTrip: RoundTrip | null, now: number): Promise<ReserveOutcome> {
    this.#leased.add(plan);
    await sendAlong(along, roundTrip);
    return { admitted: true, levels: plan.buckets.map((bucket) => this.#visibleLevel(bucket)), now };
  }

  async settle(plan: QuotaPlan, reserved: Reservation, actual: Reservation, along: RideAlong[] = [], roundTrip: RoundTrip | null = null): Promise<CrossedThreshold[]> {
    if (!this.#leased.has(plan)) return this.#inner.settle(plan, reserved, actual, along, roundTrip);
    this.#leased.delete(plan);
    // Request buckets keep their count; token buckets get back what the estimate over-reserved.
    for (const bucket of plan.buckets) {
      if (bucket.kind !== 'tokens') continue;
      const lease = this.#leases.get(bucket.key);
      if (lease) lease.left += reserved.tokens - actual.tokens;
      // A lease may not go below nothing: what usage took beyond it is paid to the bucket now.
      if (lease && lease.left < 0) {
        this.#addBucketRefund(plan, bucket, lease.left);
        lease.left = 0;
      }
    }
    for (const budget of plan.budgets) {
      const lease = this.#leases.get(budget.key);
      if (lease) lease.left += reserved.nanoUsd - actual.nanoUsd;
      // The spend moves from reserved to settled (`s`; `u` unchanged), and what went beyond the lease into `u`.
      const deficit = lease && lease.left < 0 ? -lease.left : 0;
      if (lease && deficit) lease.left = 0;
      const due = this.#dueBudget(plan, budget);
      due.actualNanoUsd += actual.nanoUsd;
      due.reservedNanoUsd += actual.nanoUsd - deficit;
    }
    this.#scheduleFlush();
    await sendAlong(along, roundTrip);
    return [];
  }

  releaseOrphan(plan: QuotaPlan): Promise<void> {
    return this.#inner.releaseOrphan(plan);
  }

  /** Sends the spend not yet counted and gives every lease back (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    await this.#sweep(Number.POSITIVE_INFINITY, true);
  }

  /** Admits from the leases when every scope of the plan has a live one with room for this request's cost. */
  #takeLocally(plan: QuotaPlan, reservation: Reservation, now: number): boolean {
    for (const bucket of plan.buckets) {
      const lease = this.#leases.get(bucket.key);
      if (!lease || lease.expiresAt <= now || lease.left < bucketCost(bucket, reservation)) return false;
    }
    for (const budget of plan.budgets) {
      const lease = this.#leases.get(budget.key);
      if (!lease || lease.expiresAt <= now || lease.left < reservation.nanoUsd) return false;
    }
    for (const bucket of plan.buckets) (this.#leases.get(bucket.key) as Lease).left -= bucketCost(bucket, reservation);
    for (const budget of plan.budgets) (this.#leases.get(budget.key) as Lease).left -= reservation.nanoUsd;
    return true;
  }

  /** Whether this process sees enough requests of these scopes for a lease to pay (its most specific scope counts). */
  #busy(plan: QuotaPlan, now: number, config: QuotaLeaseConfig): boolean {
    const key = leaseKey(plan);
    if (!key) return false;
    const second = Math.floor(now / 1000);
    let demand = this.#demand.get(key);
    if (!demand) {
      demand = { second, count: 0, previous: 0 };
      this.#demand.set(key, demand);
    }
    if (demand.second !== second) {
      demand.previous = demand.second === second - 1 ? demand.count : 0;
      demand.second = second;
      demand.count = 0;
    }
    demand.count += 1;
    return Math.max(demand.count, demand.previous) >= config.min_requests_per_second;
  }

  #grant(key: string, scope: Lease['scope'], plan: QuotaPlan, amount: number, expiresAt: number, level: number): void {
    const lease = this.#leases.get(key);
    if (lease) {
      lease.left += amount;
      lease.expiresAt = expiresAt;
      lease.level = level;
    } else {
      this.#leases.set(key, { left: amount, expiresAt, level, scope, org: plan.syncMarker });
    }
  }

  /**
   * What is due for one org. A release or a retried flush carries no thresholds; a request's plan does, and they
   * must reach the flush, or a threshold crossed by the spend it carries would never alert.
   */
  #dueFor(plan: { syncMarker: string; thresholds: number[] }): Due {
    let due = this.#due.get(plan.syncMarker);
    if (!due) {
      due = { thresholds: plan.thresholds, buckets: new Map(), budgets: new Map() };
      this.#due.set(plan.syncMarker, due);
    } else if (plan.thresholds.length > 0) {
      due.thresholds = plan.thresholds;
    }
    return due;
  }

  #addBucketRefund(plan: { syncMarker: string; thresholds: number[] }, bucket: BucketSpec, amount: number): void {
    const buckets = this.#dueFor(plan).buckets;
    buckets.set(bucket.key, { bucket, refund: (buckets.get(bucket.key)?.refund ?? 0) + amount });
  }

  #dueBudget(plan: { syncMarker: string; thresholds: number[] }, budget: BudgetSpec): { reservedNanoUsd: number; actualNanoUsd: number } {
    const budgets = this.#dueFor(plan).budgets;
    let due = budgets.get(budget.key);
    if (!due) {
      due = { budget, reservedNanoUsd: 0, actualNanoUsd: 0 };
      budgets.set(budget.key, due);
    }
    return due;
  }

  #visibleLevel(bucket: BucketSpec): number {
    const lease = this.#leases.get(bucket.key);
    return lease ? Math.max(0, lease.level + lease.left) : bucket.limit;
  }

  #scheduleFlush(): void {
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flushing = this.#flushing.then(() => this.#flush());
    }, this.#config().settle_flush_ms);
    this.#flushTimer.unref();
  }

  /** Sends what is due, one settle.lua per org: spend into `s` (alerting on thresholds crossed), leases given back. */
  async #flush(): Promise<void> {
    const batch = [...this.#due.entries()];
    this.#due.clear();
    await Promise.all(batch.map(async ([org, due]) => {
      const budgets = [...due.budgets.values()];
      try {
        const crossed = await this.#inner.adjust({ buckets: [...due.buckets.values()], budgets, thresholds: due.thresholds });
        if (crossed.length) this.#onCrossed({ buckets: [], budgets: budgets.map((b) => b.budget), thresholds: due.thresholds, syncMarker: org }, crossed);
      } catch (error) {
        this.#onError(error);
        // Sent again with a later flush, once Redis answers.
        const plan = { syncMarker: org, thresholds: due.thresholds };
        for (const entry of due.buckets.values()) this.#addBucketRefund(plan, entry.bucket, entry.refund);
        for (const entry of budgets) {
          const again = this.#dueBudget(plan, entry.budget);
          again.reservedNanoUsd += entry.reservedNanoUsd;
          again.actualNanoUsd += entry.actualNanoUsd;
        }
        this.#scheduleFlush();
      }
    }));
  }

  /** Gives back what expired leases still hold (all of them at shutdown); forgets leases long unused. */
  async #sweep(now: number, all: boolean): Promise<void> {
    let released = false;
    for (const [key, lease] of this.#leases) {
      if (lease.expiresAt > now && !all) continue;
      if (lease.left === 0) {
        if (all || now - lease.expiresAt > FORGET_AFTER_MS) this.#leases.delete(key);
        continue;
      }
      const plan = { syncMarker: lease.org, thresholds: [] as number[] };
      if ('bucket' in lease.scope) {
        this.#addBucketRefund(plan, lease.scope.bucket, lease.left);
      } else {
        // Reserved by the lease and never spent: out of `u`.
        this.#dueBudget(plan, lease.scope.budget).reservedNanoUsd += lease.left;
      }
      lease.left = 0;
      released = true;
    }
    for (const [key, demand] of this.#demand) {
      if (Math.floor(now / 1000) - demand.second > 60) this.#demand.delete(key);
    }
    if (released || all) {
      this.#flushing = this.#flushing.then(() => this.#flush());
      await this.#flushing;
    }
  }
}

/** A plan's most specific scope (its first key): stands for the plan in demand counts and lease requests. */
function leaseKey(plan: QuotaPlan): string {
  return plan.buckets[0]?.key ?? plan.budgets[0]?.key ?? '';
}

/** The ledger's entry still goes with the request's round trip (with the cache lookup), or on its own. */
async function sendAlong(along: RideAlong[], roundTrip: RoundTrip | null): Promise<void> {
  if (along.length === 0) {
    return;
  }
  if (!roundTrip) throw new Error('a leased reservation needs the request round trip for its ledger entry');
  for (const command of along) roundTrip.call(command.args).then(() => command.done(null), (error: Error) => command.done(error));
  await roundTrip.send();
}
