import type { AuditLog } from '../audit/audit-log.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { GROUP_COLUMNS, type GroupBy, type GroupColumn, type UsageFilters, type UsageGroup } from '../ledger/sink.ts';
import { formatUsd } from '../ledger/usage-record.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { BudgetScope, QuotasConfig } from '../quota/config.ts';
import { BUDGET_SCOPE_IDS, budgetOf, periods } from '../quota/plan.ts';
import type { KillSwitch } from '../routing/kill-switches.ts';
import { summarizeHistogram, type HistogramSummary } from './histogram-summary.ts';

/** The dimensions the dashboard charts spend by. */
export const DASHBOARD_GROUPS = ['team', 'app', 'feature', 'model', 'user', 'provider'] as const satisfies readonly GroupBy[];
export type DashboardGroup = (typeof DASHBOARD_GROUPS)[number];

export interface DashboardQuery {
  from: number;
  to: number;
  groupBy: DashboardGroup;
  where: UsageFilters;
}

export interface DashboardDeps {
  ledger: Pick<Ledger, 'aggregate'>;
  quotas: () => QuotasConfig;
  killSwitches: { list(): Promise<KillSwitch[]> };
  audit?: Pick<AuditLog, 'query'> | null;
  metrics?: GatewayMetrics | null;
  now: () => number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Series wider than this many groups fold the rest into "other", so the chart stays readable. */
const SERIES_GROUPS = 8;
const TOP = 10;
/** Denial reasons are counted over at most this many audit records of the range. */
const DENIAL_SAMPLE = 1000;

/** Hours up to two days, days up to two months, then whole days sized for about a hundred points. */
export function bucketFor(from: number, to: number): number {
  const span = to - from;
  if (span <= 2 * DAY) return HOUR;
  if (span <= 62 * DAY) return DAY;
  return DAY * Math.ceil(span / (100 * DAY));
}

/** A group's name as people read it: the last part of its key is what differs inside the parent (team in org). */
function labelOf(group: UsageGroup, groupBy: GroupBy): string {
  return GROUP_COLUMNS[groupBy].map((field) => group.key[field] ?? '(none)').join('/');
}

const usd = (nano: bigint) => formatUsd(nano);
const usdNumber = (nano: bigint) => Number(nano) / 1e9;
const meanLatency = (g: UsageGroup) => (g.latencyCount ? Math.round((g.latencyMsSum / g.latencyCount) * 100) / 100 : null);

function row(group: UsageGroup, groupBy: GroupBy) {
  return {
    label: labelOf(group, groupBy),
    key: group.key,
    requests: group.requests,
    errors: group.errors,
    prompt_tokens: group.promptTokens,
    completion_tokens: group.completionTokens,
    cost_usd: usd(group.costNanoUsd),
    mean_latency_ms: meanLatency(group),
  };
}

/** Sums groups that share a label (the buckets of one series group, or all of them for the totals). */
function merge(groups: readonly UsageGroup[]): UsageGroup {
  const total: UsageGroup = {
    key: {}, requests: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, costNanoUsd: 0n, savedNanoUsd: 0n, errors: 0,
    feedbackSum: 0, feedbackCount: 0, latencyMsSum: 0, latencyCount: 0,
  };
  for (const g of groups) {
    total.key = g.key;
    total.requests += g.requests;
    total.promptTokens += g.promptTokens;
    total.completionTokens += g.completionTokens;
    total.cachedPromptTokens += g.cachedPromptTokens;
    total.costNanoUsd += g.costNanoUsd;
    total.savedNanoUsd += g.savedNanoUsd;
    total.errors += g.errors;
    total.feedbackSum += g.feedbackSum;
    total.feedbackCount += g.feedbackCount;
    total.latencyMsSum += g.latencyMsSum;
    total.latencyCount += g.latencyCount;
  }
  return total;
}

const byCostThenRequests = (a: UsageGroup, b: UsageGroup) =>
  a.costNanoUsd === b.costNanoUsd ? b.requests - a.requests : a.costNanoUsd > b.costNanoUsd ? -1 : 1;

/** Spend per bucket for the biggest groups (the rest summed as "other"), and the per-group totals of the range. */
function spendSeries(rows: UsageGroup[], query: DashboardQuery, bucketMs: number) {
  const perLabel = new Map<string, UsageGroup[]>();
  for (const r of rows) {
    const label = labelOf(r, query.groupBy);
    const groups = perLabel.get(label);
    if (groups) groups.push(r);
    else perLabel.set(label, [r]);
  }
  const totals = [...perLabel.values()].map((groups) => merge(groups)).sort(byCostThenRequests);
  const first = Math.floor(query.from / bucketMs) * bucketMs;
  const buckets: number[] = [];
  for (let t = first; t < query.to; t += bucketMs) buckets.push(t);
  const index = new Map(buckets.map((t, i) => [t, i]));
  const shown = totals.slice(0, SERIES_GROUPS).map((g) => labelOf(g, query.groupBy));
  const lines = new Map(shown.map((label) => [label, buckets.map(() => 0)]));
  let other: number[] | null = null;
  for (const r of rows) {
    const i = index.get(r.bucket ?? -1);
    if (i === undefined) continue;
    const label = labelOf(r, query.groupBy);
    const line = lines.get(label) ?? (other ??= buckets.map(() => 0));
    line[i] = (line[i] ?? 0) + usdNumber(r.costNanoUsd);
  }
  const groups = [...lines].map(([label, cost]) => ({ label, cost_usd: cost }));
  if (other) groups.push({ label: 'other', cost_usd: other });
  return { series: { bucket_ms: bucketMs, buckets, groups }, breakdown: totals.map((g) => row(g, query.groupBy)), total: merge(rows) };
}

/**
 * Each configured budget of the current UTC day and month: spend from the ledger, percent used, linear projection.
 * One aggregate per budgeted scope, by day since the month began: the month is its sum, today its last bucket.
 */
async function budgets(deps: DashboardDeps, where: UsageFilters, now: number) {
  const config = deps.quotas();
  const out = [];
  const [day, month] = periods(now) as [ReturnType<typeof periods>[number], ReturnType<typeof periods>[number]];
  for (const scope of Object.keys(config.budgets) as BudgetScope[]) {
    const configured = config.budgets[scope];
    if (!Object.keys(configured).length) continue;
    const groups = await deps.ledger.aggregate({ groupBy: scope, from: month.startsAt, to: now + 1, where, bucketMs: DAY });
    for (const period of [day, month]) {
      if (!Object.values(configured).some((b) => b[period.field] !== undefined)) continue;
      const spent = new Map<string, bigint>();
      for (const g of groups) {
        const id = BUDGET_SCOPE_IDS[scope](g.key);
        if (id !== null && (g.bucket ?? 0) >= period.startsAt) spent.set(id, (spent.get(id) ?? 0n) + g.costNanoUsd);
      }
      // Named budgets show up before their first request (unless filters narrow the view).
      if (!Object.keys(where).length) for (const id of Object.keys(configured)) if (id !== '*' && !spent.has(id)) spent.set(id, 0n);
      const elapsed = Math.max(now - period.startsAt, 60_000);
      const length = period.endsAt - period.startsAt;
      for (const [id, nano] of spent) {
        const limit = budgetOf(config, scope, id)?.[period.field];
        if (limit === undefined) continue;
        const spentUsd = usdNumber(nano);
        const projected = (spentUsd * length) / elapsed;
        out.push({
          scope, id, period: period.kind, period_label: period.label, period_ends_at: new Date(period.endsAt).toISOString(),
          limit_usd: limit, spent_usd: usd(nano),
          percent: Math.round((spentUsd / limit) * 10_000) / 100,
          projected_usd: Math.round(projected * 1e6) / 1e6,
          projected_percent: Math.round((projected / limit) * 10_000) / 100,
        });
      }
    }
  }
  return out.sort((a, b) => b.percent - a.percent);
}

/** The reasons policies gave for the denials in the range (from the audit log; its first DENIAL_SAMPLE records). */
async function denialReasons(deps: DashboardDeps, query: DashboardQuery) {
  if (!deps.audit) return null;
  const page = await deps.audit.query({ decision: 'deny', since: new Date(query.from).toISOString(), team: query.where.team, limit: DENIAL_SAMPLE });
  const counts = new Map<string, number>();
  let sampled = 0;
  for (const record of page.data) {
    if (Date.parse(record.time) >= query.to) continue;
    const w = query.where;
    if ((w.org && record.tenant.org !== w.org) || (w.app && record.tenant.app !== w.app) || (w.model && record.model !== w.model)) continue;
    if ((w.user && record.tenant.user !== w.user) || (w.feature && record.tenant.feature !== w.feature)) continue;
    sampled += 1;
    for (const reason of record.reasons.length ? record.reasons : ['(no reason given)']) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return {
    sampled, truncated: page.has_more,
    reasons: [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count).slice(0, TOP),
  };
}

/** Latency from the ledger (range, filtered) with time to first token and p95 from this process's metrics. */
async function providers(groups: UsageGroup[], metrics: GatewayMetrics | null | undefined, team: string | undefined) {
  const none = new Map<string, HistogramSummary>();
  const keepTeam = (labels: Partial<Record<string, string | number>>) => !team || labels.team === team;
  const [ttft, latency] = metrics
    ? await Promise.all([summarizeHistogram(metrics.timeToFirstChunk, 'provider'), summarizeHistogram(metrics.latency, 'provider', keepTeam)])
    : [none, none];
  return groups.sort(byCostThenRequests).map((g) => {
    const name = g.key.provider ?? null;
    return {
      provider: name ?? '(none)',
      requests: g.requests,
      errors: g.errors,
      error_rate: g.requests ? Math.round((g.errors / g.requests) * 10_000) / 10_000 : 0,
      mean_latency_ms: meanLatency(g),
      latency: latency.get(name ?? 'none') ?? null,
      ttft: ttft.get(name ?? 'none') ?? null,
    };
  });
}

/**
 * Cache outcomes and the dollars they saved, all from the ledger for the range and filters (each cache answer's
 * record carries what the provider would have charged): the same figure from every process, across restarts.
 */
function cache(groups: UsageGroup[]) {
  const byStatus = Object.fromEntries(groups.filter((g) => g.key.cache_status).map((g) => [String(g.key.cache_status), g.requests]));
  const looked = groups.filter((g) => g.key.cache_status && g.key.cache_status !== 'bypass').reduce((n, g) => n + g.requests, 0);
  const hits = byStatus.hit ?? 0;
  const saved = groups.reduce((n, g) => n + g.savedNanoUsd, 0n);
  return { by_status: byStatus, hits, hit_rate: looked ? Math.round((hits / looked) * 10_000) / 10_000 : null, saved_usd: usd(saved) };
}

/**
 * The few-valued breakdowns, in two aggregates folded below: providers with the filter menus' teams and models, and
 * the cache and error outcomes. Two narrow groupings rather than one over all five columns: each has a daily summary
 * table of its own (src/ledger/rollups.ts), far smaller than one with every combination.
 */
const PROVIDER_COLUMNS = ['team', 'model', 'provider'] as const;
const OUTCOME_COLUMNS = ['cache_status', 'error_code'] as const;

/** Sums groups by one of their key columns (a breakdown out of a finer grouping). */
function foldBy(groups: readonly UsageGroup[], column: GroupColumn): UsageGroup[] {
  const by = new Map<string | null, UsageGroup[]>();
  for (const g of groups) {
    const value = g.key[column] ?? null;
    const list = by.get(value);
    if (list) list.push(g);
    else by.set(value, [g]);
  }
  return [...by].map(([value, list]) => ({ ...merge(list), key: { [column]: value } }));
}

const top = (groups: UsageGroup[], groupBy: GroupBy) =>
  groups.filter((g) => GROUP_COLUMNS[groupBy].every((f) => g.key[f] !== null)).sort(byCostThenRequests).slice(0, TOP).map((g) => row(g, groupBy));

const distinct = (groups: UsageGroup[], field: 'team' | 'model') =>
  [...new Set(groups.map((g) => g.key[field]).filter((v): v is string => typeof v === 'string'))].sort();

/**
 * Everything the dashboard page shows for one range and filter set, from the ledger (SQL aggregates, no rows
 * read into memory) and the metrics registry. The aggregates run one after another on the SQLite worker, or on the
 * PostgreSQL pool concurrently.
 */
export async function dashboardSummary(deps: DashboardDeps, query: DashboardQuery) {
  const { from, to, where } = query;
  const bucketMs = bucketFor(from, to);
  const range = { from, to, where };
  const filtered = Object.keys(where).length > 0;
  const [seriesRows, users, features, providerRows, outcomes, menus, budgetRows, reasons, switches] = await Promise.all([
    deps.ledger.aggregate({ ...range, groupBy: query.groupBy, bucketMs }),
    deps.ledger.aggregate({ ...range, groupBy: 'user' }),
    deps.ledger.aggregate({ ...range, groupBy: 'feature' }),
    deps.ledger.aggregate({ ...range, groupBy: PROVIDER_COLUMNS }),
    deps.ledger.aggregate({ ...range, groupBy: OUTCOME_COLUMNS }),
    // The filter menus list what the range holds regardless of the filters set.
    filtered ? deps.ledger.aggregate({ from, to, groupBy: ['team', 'model'] }) : null,
    budgets(deps, where, deps.now()),
    denialReasons(deps, query),
    deps.killSwitches.list(),
  ]);
  const providerGroups = foldBy(providerRows, 'provider');
  const cacheGroups = foldBy(outcomes, 'cache_status');
  const errorGroups = foldBy(outcomes, 'error_code');
  const teams = menus ?? providerRows;
  const models = menus ?? providerRows;
  const { series, breakdown, total } = spendSeries(seriesRows, query, bucketMs);
  return {
    object: 'dashboard',
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    group_by: query.groupBy,
    filters: where,
    totals: { ...row(total, query.groupBy), label: 'total', key: {} },
    series,
    breakdown,
    top_users: top(users, 'user'),
    top_features: top(features, 'feature'),
    budgets: budgetRows,
    cache: cache(cacheGroups),
    errors: errorGroups.filter((g) => g.key.error_code).sort((a, b) => b.requests - a.requests)
      .map((g) => ({ code: String(g.key.error_code), requests: g.requests })),
    denials: reasons,
    providers: await providers(providerGroups, deps.metrics, where.team),
    kill_switches: switches,
    options: { team: distinct(teams, 'team'), model: distinct(models, 'model') },
  };
}

export type DashboardSummary = Awaited<ReturnType<typeof dashboardSummary>>;
