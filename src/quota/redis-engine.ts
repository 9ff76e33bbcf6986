import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../store/redis-store.ts';
import type { RoundTrip } from '../store/round-trip.ts';
import {
  bucketCost, perMs, type BucketSpec, type BudgetSpec, type CrossedThreshold, type QuotaEngine, type QuotaPlan, type Reservation, type ReserveOutcome, type RideAlong,
} from './engine.ts';

interface Script {
  lua: string;
  sha: string;
}

function script(name: string): Script {
  const lua = readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

type Arg = string | number;

/** What a reservation asks for on top of its own cost, to hold as a local lease (see leasing-engine.ts). */
export interface LeaseRequest {
  /** A scope gives at most its headroom after the request divided by this. */
  divisor: number;
  /** A scope whose share would be under this many times the request's cost makes the whole lease refused. */
  multiple: number;
  /** Per bucket, then per budget: the extra amount wanted. */
  wants: number[];
}

/** How long a request's reservation record outlives its reservation at most (far above any request's duration). */
const RESERVATION_RECORD_TTL_MS = 6 * 3600_000;

/** One budget counter to bring up to the ledger's sum (see lua/rebuild.lua). */
export interface CounterFromLedger {
  key: string;
  ledgerNanoUsd: bigint;
  ttlMs: number;
}

/**
 * Quotas in Redis: one EVALSHA per request to reserve (lua/reserve.lua) and one to settle (lua/settle.lua), on a
 * single Redis or a Redis Cluster alike (every key of a call shares the org's hash tag, see plan.ts).
 *
 * Round trips: commands that ride along with a call (the ledger's queue entries) go in the same ioredis pipeline as
 * the script, so a request costs one network round trip at admission and one at settlement. On Redis Cluster they
 * are sent at the same moment but separately: their keys hash to other slots (the ledger stream has its own tag),
 * usually on another master, so they cost a second, concurrent round trip (latency of one, count of two).
 */
export class RedisQuotaEngine implements QuotaEngine {
  readonly sharesRoundTrips = true;
  readonly #client: RedisClient;
  readonly #reserve = script('reserve.lua');
  readonly #settle = script('settle.lua');
  readonly #rebuild = script('rebuild.lua');
  readonly #gateBudgets: boolean;

  /**
   * `gateBudgets`: budgets can be rebuilt from a ledger (rebuild.ts), so a reservation that finds its org's
   * counters lost reserves nothing and answers `unsynced` rather than deciding on empty counters.
   */
  constructor(client: RedisClient, options: { gateBudgets?: boolean } = {}) {
    this.#client = client;
    this.#gateBudgets = options.gateBudgets ?? false;
  }

  /**
   * Loads the scripts into every master's script cache, so that requests only send their SHA. Best effort: a Redis
   * that is down now, restarted or failed over later answers NOSCRIPT, and `#run` then sends the script itself.
   */
  async load(timeoutMs = 2000): Promise<void> {
    // A Cluster client knows its masters only once it has read the slot map.
    if (this.#client instanceof Cluster && this.#client.status !== 'ready') {
      const client = this.#client;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Redis Cluster not ready')), timeoutMs);
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    await Promise.all(nodes.flatMap((node) => [this.#reserve, this.#settle].map((s) => node.script('LOAD', s.lua))));
  }

  /**
   * `lease`: also ask every scope for a lease of up to `wants[i]` more (buckets, then budgets), granted all or none
   * (see lua/reserve.lua and leasing-engine.ts); the outcome's `leased` lists what each scope gave.
   */
  async reserve(
    plan: QuotaPlan, reservation: Reservation, along: RideAlong[] = [], roundTrip: RoundTrip | null = null, lease: LeaseRequest | null = null,
  ): Promise<ReserveOutcome> {
    const args: Arg[] = [plan.buckets.length, plan.budgets.length];
    for (const bucket of plan.buckets) args.push(bucket.limit, perMs(bucket.limit), bucketCost(bucket, reservation));
    for (const budget of plan.budgets) args.push(budget.capNanoUsd, reservation.nanoUsd, budget.ttlMs);
    args.push(this.#gateBudgets ? 1 : 0);
    if (lease) args.push('lease', lease.divisor, lease.multiple, ...lease.wants);
    const keys = [...plan.buckets.map((b) => b.key), ...plan.budgets.map((b) => b.key), plan.syncMarker];
    if (plan.reservationKey) {
      keys.push(plan.reservationKey);
      args.push(RESERVATION_RECORD_TTL_MS, reservation.tokens, reservation.nanoUsd);
    }
    const reply = (await this.#run(this.#reserve, keys, args, along, roundTrip)) as number[];
    const [status = 0, index = 0, detail = 0, now = 0, synced = 1] = reply;
    const lost = synced === 0 ? { countersLost: true } : {};
    if (status === 3) return { admitted: false, kind: 'unsynced', now, ...lost };
    if (status === 2) return { admitted: false, kind: 'budget', budget: index - 1, usedNanoUsd: detail, now, ...lost };
    const levels = reply.slice(5, 5 + plan.buckets.length);
    if (status === 1) return { admitted: false, kind: 'rate', bucket: index - 1, retryMs: detail, levels, now, ...lost };
    const leased = lease && reply[5 + plan.buckets.length] === 1 ? reply.slice(6 + plan.buckets.length) : null;
    return { admitted: true, levels, now, ...lost, ...(leased ? { leased } : {}) };
  }

  /**
   * Raises one org's budget counters to the ledger's sums and sets its sync marker, atomically (lua/rebuild.lua).
   * Every key must carry the org's hash tag. Returns the settled amount of each counter before and after.
   */
  async rebuildOrg(counters: CounterFromLedger[], syncMarker: string, markerValue: string): Promise<Array<{ before: number; after: number }>> {
    const args: Arg[] = [counters.length];
    for (const counter of counters) args.push(counter.ledgerNanoUsd.toString(), counter.ttlMs);
    args.push(markerValue);
    const reply = (await this.#run(this.#rebuild, [...counters.map((c) => c.key), syncMarker], args)) as number[];
    return counters.map((_, j) => ({ before: reply[2 * j] ?? 0, after: reply[2 * j + 1] ?? 0 }));
  }

  async releaseOrphan(plan: QuotaPlan): Promise<void> {
    if (plan.reservationKey) await this.settle(plan, { tokens: 0, nanoUsd: 0 }, { tokens: 0, nanoUsd: 0 }, [], null, true);
  }

  async settle(plan: QuotaPlan, reserved: Reservation, actual: Reservation, along: RideAlong[] = [], roundTrip: RoundTrip | null = null, orphan = false): Promise<CrossedThreshold[]> {
    // Request buckets keep their count: a request happened whatever it cost.
    const tokenBuckets = plan.buckets.filter((b) => b.kind === 'tokens');
    const args: Arg[] = [tokenBuckets.length, plan.budgets.length, plan.thresholds.length, ...plan.thresholds];
    for (const bucket of tokenBuckets) args.push(bucket.limit, perMs(bucket.limit), reserved.tokens - actual.tokens);
    for (const budget of plan.budgets) args.push(budget.capNanoUsd, reserved.nanoUsd, actual.nanoUsd, budget.ttlMs);
    const keys = [...tokenBuckets.map((b) => b.key), ...plan.budgets.map((b) => b.key), ...plan.budgets.flatMap((b) => b.alertKeys)];
    if (plan.reservationKey) {
      // The store's record of the reservation replaces `reserved` (see lua/settle.lua).
      keys.push(plan.reservationKey);
      args.push(reserved.tokens, reserved.nanoUsd, orphan ? 1 : 0);
    }
    const reply = (await this.#run(this.#settle, keys, args, along, roundTrip)) as number[];
    const crossed: CrossedThreshold[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      crossed.push({ budget: (reply[i] as number) - 1, percent: reply[i + 1] as number, settledNanoUsd: reply[i + 2] as number });
    }
    return crossed;
  }

  /**
   * settle.lua with an amount per scope rather than one request's: token refunds per bucket (any kind), and per
   * budget what was reserved and what was really spent. Every key must share one org's hash tag. For the leases
   * (leasing-engine.ts), which settle many requests, and give back what they hold, in one call.
   */
  async adjust(parts: {
    buckets: Array<{ bucket: BucketSpec; refund: number }>;
    budgets: Array<{ budget: BudgetSpec; reservedNanoUsd: number; actualNanoUsd: number }>;
    thresholds: number[];
  }): Promise<CrossedThreshold[]> {
    const { buckets, budgets, thresholds } = parts;
    const args: Arg[] = [buckets.length, budgets.length, thresholds.length, ...thresholds];
    for (const { bucket, refund } of buckets) args.push(bucket.limit, perMs(bucket.limit), refund);
    for (const { budget, reservedNanoUsd, actualNanoUsd } of budgets) args.push(budget.capNanoUsd, reservedNanoUsd, actualNanoUsd, budget.ttlMs);
    const keys = [
      ...buckets.map((b) => b.bucket.key), ...budgets.map((b) => b.budget.key),
      ...(thresholds.length ? budgets.flatMap((b) => b.budget.alertKeys) : []),
    ];
    const reply = (await this.#run(this.#settle, keys, args)) as number[];
    const crossed: CrossedThreshold[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      crossed.push({ budget: (reply[i] as number) - 1, percent: reply[i + 1] as number, settledNanoUsd: reply[i + 2] as number });
    }
    return crossed;
  }

  async #run(s: Script, keys: string[], args: Arg[], along: RideAlong[] = [], roundTrip: RoundTrip | null = null): Promise<unknown> {
    try {
      if (roundTrip) return await this.#viaRoundTrip(roundTrip, s, keys, args, along);
      if (along.length === 0) return await this.#client.evalsha(s.sha, keys.length, ...keys, ...args);
      if (this.#client instanceof Cluster) {
        for (const command of along) this.#client.call(...command.args).then(() => command.done(null), (error: Error) => command.done(error));
        return await this.#client.evalsha(s.sha, keys.length, ...keys, ...args);
      }
      return await this.#pipelined(s, keys, args, along);
    } catch (error) {
      // A restarted or failed-over Redis has an empty script cache; EVAL runs the script and caches it again.
      if (!isNoScript(error)) throw error;
      return this.#client.eval(s.lua, keys.length, ...keys, ...args);
    }
  }

  /** The script, the commands riding along and whatever other stages queued for this phase: one round trip. */
  async #viaRoundTrip(roundTrip: RoundTrip, s: Script, keys: string[], args: Arg[], along: RideAlong[]): Promise<unknown> {
    const reply = roundTrip.call(['evalsha', s.sha, keys.length, ...keys, ...args]);
    for (const command of along) roundTrip.call(command.args).then(() => command.done(null), (error: Error) => command.done(error));
    await roundTrip.send();
    return reply;
  }

  /** The script and the commands riding along, in one pipeline: one write, one round trip. */
  async #pipelined(s: Script, keys: string[], args: Arg[], along: RideAlong[]): Promise<unknown> {
    const pipeline = this.#client.pipeline().evalsha(s.sha, keys.length, ...keys, ...args);
    for (const command of along) pipeline.call(...command.args);
    let results: Array<[Error | null, unknown]>;
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      for (const command of along) command.done(error as Error);
      throw error;
    }
    along.forEach((command, i) => {
      const result = results[i + 1];
      command.done(result ? result[0] : new Error('no reply in the pipeline'));
    });
    const [error, reply] = results[0] ?? [new Error('no reply in the pipeline'), null];
    if (error) throw error;
    return reply;
  }
}

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith('NOSCRIPT');
