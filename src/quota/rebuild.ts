import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { RedisClient } from '../store/redis-store.ts';
import type { BudgetScope } from './config.ts';
import { BUDGET_SCOPE_IDS, budgetKey, budgetOf, budgetTtlMs, periods, syncMarkerKey } from './plan.ts';
import type { CounterFromLedger, RedisQuotaEngine } from './redis-engine.ts';

/** One replica rebuilds at a time; the lock outlives a stuck rebuild by this much at most. */
const LOCK_KEY = 'tollgate:quota:rebuild-lock';
const LOCK_TTL_MS = 60_000;
/** Reservations keep reporting a lost store until the markers are back: one attempt per this long per process. */
const RETRY_EVERY_MS = 2000;
/** How long a reservation waits for its org's counters (within Envoy's message timeout, default 2 s). */
const RECOVER_WAIT_MS = 1000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export type RebuildReport =
  | { status: 'rebuilt'; reason: string; at: string; orgs: number; counters: number; raised: number; duration_ms: number }
  /** Another replica (or this one) holds the lock: that rebuild covers this request. */
  | { status: 'busy'; reason: string };

export interface BudgetRebuildDeps {
  client: RedisClient;
  engine: RedisQuotaEngine;
  ledger: Pick<Ledger, 'spendByScope'>;
  config: ConfigHolder;
  logger: Logger;
  now?: () => number;
}

/**
 * Rebuilds the budget counters from the usage ledger after Redis lost them.
 *
 * What: for the current UTC day and month, every budget scope that has a cap gets its settled spend raised to the
 * ledger's sum of the records that started in the period (closed records carry the cost; pending ones have none
 * yet), one org per atomic script (lua/rebuild.lua), which also sets the org's sync marker.
 *
 * Requests in flight (the choice: never count twice, and keep every live reservation): a counter's settled part
 * becomes max(Redis, ledger) and its reservations (used - settled) are carried over. Neither side is added to the
 * other, because a request settled since the loss may already be in the ledger too, and nothing tells which.
 * - A request admitted before the loss lost its reservation with Redis. If it settles after the rebuild, its real
 *   cost lands on the rebuilt counter (its record was still open when the ledger was read: counted once).
 * - If it settled between the loss and the rebuild, the max keeps the ledger's larger sum and its cost is missed:
 *   the undercount is bounded by the requests in flight at the moment of the loss, since the first budgeted
 *   reservation after it triggers the rebuild.
 * - No budget is decided on lost counters: with a ledger, the reserve script refuses to decide while the org's
 *   marker is missing, and the request waits for the rebuild (quota stage, `recover`), so reservations made after
 *   the loss are all made on rebuilt counters and are carried over by any later rebuild.
 * A rebuild can run again at any time: on a store that lost nothing it changes nothing unless the ledger knows
 * more (e.g. a budget added mid-month). Counters are only ever raised. Not in the ledger, so not rebuilt: entries
 * lost with a Redis that did not persist its stream (at most one flush interval of closed requests).
 *
 * When: each org has a marker key without TTL, set by the rebuild. The reserve script reads it for free; the first
 * reservation that finds it missing (restart without persistence, FLUSHALL, failover to an empty replica, or a
 * fresh deployment) triggers one rebuild, and a SET NX lock lets one replica do it. `POST /admin/v1/quotas/rebuild`
 * runs it on demand.
 */
export class BudgetRebuild {
  readonly #deps: BudgetRebuildDeps;
  readonly #now: () => number;
  #running: Promise<RebuildReport> | null = null;
  #lastAttempt = 0;

  constructor(deps: BudgetRebuildDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Rebuilds now unless a rebuild is running (here: it is joined; elsewhere: `busy`). */
  rebuild(reason: string): Promise<RebuildReport> {
    this.#running ??= this.#rebuildLocked(reason).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** A reservation found an org without its marker: rebuild in the background. */
  countersLost(org: string): void {
    void this.#attempt(org);
  }

  /**
   * A reservation was refused a decision because its org's counters are lost: waits until they are rebuilt, here
   * or by another replica (its marker is back), for at most RECOVER_WAIT_MS. False: decide without them.
   */
  async recover(org: string): Promise<boolean> {
    const deadline = Date.now() + RECOVER_WAIT_MS;
    for (;;) {
      const report = await this.#attempt(org);
      if (report?.status === 'rebuilt' || (await this.#deps.client.exists(syncMarkerKey(org))) === 1) return true;
      if (Date.now() >= deadline) return false;
      await sleep(50);
    }
  }

  /** Joins the rebuild running here, or starts one (at most once per RETRY_EVERY_MS); null when none ran. */
  #attempt(org: string): Promise<RebuildReport | null> {
    if (this.#running) return this.#running.catch(() => null);
    if (Date.now() - this.#lastAttempt < RETRY_EVERY_MS) return Promise.resolve(null);
    this.#lastAttempt = Date.now();
    this.#deps.logger.warn({ org }, 'quota store lost its budget counters; rebuilding them from the usage ledger');
    return this.rebuild('store lost its counters').catch((error: unknown) => {
      this.#deps.logger.error({ err: error }, 'budget counter rebuild failed; a later reservation retries');
      return null;
    });
  }

  /** At start: a missing marker of any configured org means the store was lost (or is new) while we were away. */
  async checkAtStart(): Promise<RebuildReport | null> {
    const orgs = Object.keys(this.#deps.config.catalog().config.orgs);
    // One EXISTS per org: on a Cluster the markers live in different slots.
    const present = await Promise.all(orgs.map((org) => this.#deps.client.exists(syncMarkerKey(org))));
    if (present.every((n) => n === 1)) return null;
    return this.rebuild('marker missing at start');
  }

  async #rebuildLocked(reason: string): Promise<RebuildReport> {
    const { client, logger } = this.#deps;
    const token = randomBytes(12).toString('hex');
    if ((await client.set(LOCK_KEY, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') return { status: 'busy', reason };
    try {
      const started = performance.now();
      const report = await this.#rebuildAll(reason);
      const done = { ...report, duration_ms: Math.round(performance.now() - started) };
      logger.info({ rebuild: done }, 'budget counters rebuilt from the usage ledger');
      return done;
    } finally {
      await client.eval(RELEASE_LUA, 1, LOCK_KEY, token).catch(() => undefined);
    }
  }

  async #rebuildAll(reason: string): Promise<Omit<Extract<RebuildReport, { status: 'rebuilt' }>, 'duration_ms'>> {
    const now = this.#now();
    const config = this.#deps.config.catalog().config;
    const byOrg = new Map<string, CounterFromLedger[]>(Object.keys(config.orgs).map((org) => [org, []]));
    for (const period of periods(now)) {
      for (const scope of Object.keys(BUDGET_SCOPE_IDS) as BudgetScope[]) {
        const groups = await this.#deps.ledger.spendByScope(scope, period.startsAt, period.endsAt);
        for (const group of groups) {
          const org = group.key.org;
          const id = BUDGET_SCOPE_IDS[scope](group.key);
          if (!org || id === null || group.costNanoUsd <= 0n || !budgetOf(config.quotas, scope, id)?.[period.field]) continue;
          const counters = byOrg.get(org) ?? [];
          counters.push({ key: budgetKey(org, scope, id, period.label), ledgerNanoUsd: group.costNanoUsd, ttlMs: budgetTtlMs(period.endsAt, now) });
          byOrg.set(org, counters);
        }
      }
    }
    const at = new Date(now).toISOString();
    let counters = 0;
    let raised = 0;
    for (const [org, list] of byOrg) {
      const results = await this.#deps.engine.rebuildOrg(list, syncMarkerKey(org), at);
      counters += results.length;
      raised += results.filter((r) => r.after > r.before).length;
    }
    return { status: 'rebuilt', reason, at, orgs: byOrg.size, counters, raised };
  }
}
