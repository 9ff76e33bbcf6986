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
const MAX_ID_LENGTH = 96;

/** Ids from requests (users, features) are free text: URI-encoded ({, } and : included) and hashed when long. */
function keyPart(id: string): string {
  const encoded = encodeURIComponent(id);
  return encoded.length <= MAX_ID_LENGTH ? encoded : `h:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

function pick<T>(map: Record<string, T>, id: string): T | undefined {
  return map[id] ?? map['*'];
}

interface Period {
  kind: 'daily' | 'monthly';
  field: keyof BudgetConfig;
  label: string;
  endsAt: number;
}

/** The UTC day and month containing `now`. */
function periods(now: number): Period[] {
  const date = new Date(now);
  const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  const iso = date.toISOString();
  return [
    { kind: 'daily', field: 'daily_usd', label: iso.slice(0, 10), endsAt: Date.UTC(y, m, d + 1) },
    { kind: 'monthly', field: 'monthly_usd', label: iso.slice(0, 7), endsAt: Date.UTC(y, m + 1, 1) },
  ];
}

/** The scopes of a tenant, each with the id its limits and budgets are configured under. */
function limitScopes(tenant: Tenant): Array<[LimitScope, string]> {
  return [
    ['key', tenant.keyId],
    ['app', `${tenant.org}/${tenant.team}/${tenant.app}`],
    ['team', `${tenant.org}/${tenant.team}`],
    ['org', tenant.org],
  ];
}

function budgetScopes(tenant: Tenant): Array<[BudgetScope, string]> {
  const scopes: Array<[BudgetScope, string]> = [
    ['team', `${tenant.org}/${tenant.team}`],
    ['app', `${tenant.org}/${tenant.team}/${tenant.app}`],
  ];
  if (tenant.user) scopes.push(['user', `${tenant.org}/${tenant.user}`]);
  if (tenant.feature) scopes.push(['feature', `${tenant.org}/${tenant.feature}`]);
  return scopes;
}

const BUCKET_KINDS: Array<[keyof RateLimitConfig, BucketSpec['kind']]> = [['rpm', 'requests'], ['tpm', 'tokens']];

/** Every bucket and budget that applies to this tenant now (empty when nothing is configured for it). */
export function quotaPlan(config: QuotasConfig, tenant: Tenant, now: number): QuotaPlan {
  const tag = `{tg:${tenant.org}}`;
  const buckets: BucketSpec[] = [];
  for (const [scope, id] of limitScopes(tenant)) {
    const limits = pick(config.limits[scope], id);
    if (!limits) continue;
    for (const [field, kind] of BUCKET_KINDS) {
      const limit = limits[field];
      if (limit) buckets.push({ key: `${tag}:rl:${scope}:${keyPart(id)}:${field}`, scope, scopeId: id, kind, limit });
    }
  }
  const budgets: BudgetSpec[] = [];
  const thresholds = config.alerts.thresholds;
  for (const [scope, id] of budgetScopes(tenant)) {
    const budget = pick(config.budgets[scope], id);
    if (!budget) continue;
    for (const period of periods(now)) {
      const cap = budget[period.field];
      if (!cap) continue;
      const key = `${tag}:budget:${scope}:${keyPart(id)}:${period.label}`;
      budgets.push({
        key,
        alertKeys: thresholds.map((percent) => `${key}:alert:${percent}`),
        scope,
        scopeId: id,
        period: period.kind,
        periodLabel: period.label,
        periodEndsAt: period.endsAt,
        capNanoUsd: Number(usdToNano(cap)),
        ttlMs: period.endsAt - now + RESERVATION_SLACK_MS,
      });
    }
  }
  return { buckets, budgets, thresholds };
}

export const isEmptyPlan = (plan: QuotaPlan): boolean => plan.buckets.length === 0 && plan.budgets.length === 0;
