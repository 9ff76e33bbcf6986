import { createHash } from 'node:crypto';
import type { Tenant } from '../pipeline/context.ts';
import { usdToNano } from '../pricing/cost.ts';
import type { BudgetConfig, BudgetScope, LimitScope, QuotasConfig, RateLimitConfig } from './config.ts';
import type { BucketSpec, BudgetSpec, QuotaPlan } from './engine.ts';

/**
 * Key layout: `{tg:<org>}:<kind>:<scope>:<id>…`. The hash tag is the org, for every scope of a request (key, app,
 * team, org, user, feature all belong to one org), so the one reserve/settle script per request touches keys of one
 * Redis Cluster slot and stays atomic there. The price: one org's counters live on one shard. Finer tags (per team,
 * per key) would spread an org but make the org-wide checks a second, non-atomic call; orgs are the unit that
 * spreads over the cluster. Org names are config names ([A-Za-z0-9._-]), so the tag cannot be forged by a user id.
 */
const RESERVATION_SLACK_MS = 2 * 24 * 3600_000;
/** What a budget counter outlives its period by (reservations of requests that started just before its end). */
export const budgetTtlMs = (periodEndsAt: number, now: number): number => periodEndsAt - now + RESERVATION_SLACK_MS;
const MAX_ID_LENGTH = 96;

/** Ids from requests (users, features) are free text: URI-encoded ({, } and : included) and hashed when long. */
function keyPart(id: string): string {
  const encoded = encodeURIComponent(id);
  return encoded.length <= MAX_ID_LENGTH ? encoded : `h:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

function pick<T>(map: Record<string, T>, id: string): T | undefined {
  return map[id] ?? map['*'];
}

export interface Period {
  kind: 'daily' | 'monthly';
  field: keyof BudgetConfig;
  label: string;
  endsAt: number;
}

/** The UTC day and month containing `now`. */
export function periods(now: number): Array<Period & { startsAt: number }> {
  const date = new Date(now);
  const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  const iso = date.toISOString();
  return [
    { kind: 'daily', field: 'daily_usd', label: iso.slice(0, 10), startsAt: Date.UTC(y, m, d), endsAt: Date.UTC(y, m, d + 1) },
    { kind: 'monthly', field: 'monthly_usd', label: iso.slice(0, 7), startsAt: Date.UTC(y, m, 1), endsAt: Date.UTC(y, m + 1, 1) },
  ];
}

const orgTag = (org: string) => `{tg:${org}}`;

/** The counter of one budget scope for one period. */
export const budgetKey = (org: string, scope: BudgetScope, scopeId: string, periodLabel: string): string =>
  `${orgTag(org)}:budget:${scope}:${keyPart(scopeId)}:${periodLabel}`;

/**
 * What one request holds in the store while it runs ("<tokens>:<nano-USD>"), set by the reserve script and taken by
 * the settle script, which refunds what the store really reserved, not what the replica believes it reserved: a
 * reserve whose reply was lost (a command timeout while Redis was paused or the event loop stalled, a dropped
 * connection) is then released exactly, and a settlement for a reservation that never happened refunds nothing.
 */
export const reservationKey = (org: string, requestId: string): string => `${orgTag(org)}:reservation:${keyPart(requestId)}`;

/** Present while the org's budget counters are in step with the ledger; no TTL (see rebuild.ts). */
export const syncMarkerKey = (org: string): string => `${orgTag(org)}:quota:synced`;

/** The configured budget of a scope (an exact name wins over '*'). */
export const budgetOf = (config: QuotasConfig, scope: BudgetScope, scopeId: string): BudgetConfig | undefined =>
  pick(config.budgets[scope], scopeId);

/** The scopes of a tenant, each with the id its limits and budgets are configured under. */
function limitScopes(tenant: Tenant): Array<[LimitScope, string]> {
  return [
    ['key', tenant.keyId],
    ['app', `${tenant.org}/${tenant.team}/${tenant.app}`],
    ['team', `${tenant.org}/${tenant.team}`],
    ['org', tenant.org],
  ];
}

/** The parts of a tenant that name its budget scopes (a ledger group has them too, as its key). */
export type BudgetScopeParts = Partial<Record<'org' | 'team' | 'app' | 'user' | 'feature', string | null>>;

/** How each budget scope names its member; null when the request had none (no user, no feature). */
export const BUDGET_SCOPE_IDS: Record<BudgetScope, (parts: BudgetScopeParts) => string | null> = {
  team: (p) => (p.team ? `${p.org}/${p.team}` : null),
  app: (p) => (p.team && p.app ? `${p.org}/${p.team}/${p.app}` : null),
  user: (p) => (p.user ? `${p.org}/${p.user}` : null),
  feature: (p) => (p.feature ? `${p.org}/${p.feature}` : null),
};

function budgetScopes(tenant: Tenant): Array<[BudgetScope, string]> {
  const scopes: Array<[BudgetScope, string]> = [];
  for (const [scope, idOf] of Object.entries(BUDGET_SCOPE_IDS) as Array<[BudgetScope, (parts: BudgetScopeParts) => string | null]>) {
    const id = idOf(tenant);
    if (id !== null) scopes.push([scope, id]);
  }
  return scopes;
}

const BUCKET_KINDS: Array<[keyof RateLimitConfig, BucketSpec['kind']]> = [['rpm', 'requests'], ['tpm', 'tokens']];

/** Every bucket and budget that applies to this tenant now (empty when nothing is configured for it). */
export function quotaPlan(config: QuotasConfig, tenant: Tenant, now: number): QuotaPlan {
  const tag = orgTag(tenant.org);
  const buckets: BucketSpec[] = [];
  for (const [scope, id] of limitScopes(tenant)) {
    const limits = pick(config.limits[scope], id);
    if (!limits) continue;
    for (const [field, kind] of BUCKET_KINDS) {
      const limit = limits[field];
      // `tb` (token bucket, a string since reserve.lua's MGET layout); the older `rl` hashes are simply not read.
      if (limit) buckets.push({ key: `${tag}:tb:${scope}:${keyPart(id)}:${field}`, scope, scopeId: id, kind, limit });
    }
  }
  const budgets: BudgetSpec[] = [];
  const thresholds = config.alerts.thresholds;
  for (const [scope, id] of budgetScopes(tenant)) {
    const budget = budgetOf(config, scope, id);
    if (!budget) continue;
    for (const period of periods(now)) {
      const cap = budget[period.field];
      if (!cap) continue;
      const key = budgetKey(tenant.org, scope, id, period.label);
      budgets.push({
        key,
        alertKeys: thresholds.map((percent) => `${key}:alert:${percent}`),
        scope,
        scopeId: id,
        period: period.kind,
        periodLabel: period.label,
        periodEndsAt: period.endsAt,
        capNanoUsd: Number(usdToNano(cap)),
        ttlMs: budgetTtlMs(period.endsAt, now),
      });
    }
  }
  return { buckets, budgets, thresholds, syncMarker: syncMarkerKey(tenant.org) };
}

export const isEmptyPlan = (plan: QuotaPlan): boolean => plan.buckets.length === 0 && plan.budgets.length === 0;

/**
 * Plans by tenant for the current second: a plan is a dozen keys and specs, rebuilt per request otherwise, while a
 * busy tenant sends hundreds of requests a second with the same one. Each request gets its own shallow copy (its
 * reservation key, and the leasing engine's per-request bookkeeping, hang on the copy; the specs are shared and
 * never changed). A new second, or a reloaded config, starts afresh, so at most one second's tenants are kept and
 * budget periods roll over within a second of midnight.
 */
export class PlanCache {
  #second = -1;
  #config: QuotasConfig | null = null;
  readonly #plans = new Map<string, QuotaPlan>();

  planFor(config: QuotasConfig, tenant: Tenant, now: number): QuotaPlan {
    const second = Math.floor(now / 1000);
    if (second !== this.#second || config !== this.#config) {
      this.#plans.clear();
      this.#second = second;
      this.#config = config;
    }
    const id = `${tenant.keyId}\n${tenant.org}\n${tenant.team}\n${tenant.app}\n${tenant.user ?? ''}\n${tenant.feature ?? ''}`;
    let plan = this.#plans.get(id);
    if (!plan) {
      plan = quotaPlan(config, tenant, now);
      this.#plans.set(id, plan);
    }
    return { ...plan };
  }
}
