import { FILTER_FIELDS, groupColumnsOf, SQL_COLUMN, type UsageQuery } from './sink.ts';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** One summary table of src/ledger/migrations/0006_usage_rollups.*.sql: sums per time bucket of `grainMs` and columns. */
export interface Rollup {
  table: string;
  grainMs: number;
  columns: readonly string[];
}

/**
 * The summary tables the triggers keep (the migration is their source of truth; a test checks they agree). The
 * hourly one has every column the dashboard groups or filters by, so it can answer any of its queries; the daily ones
 * are narrower, hence far fewer rows over a month.
 */
export const ROLLUPS: readonly Rollup[] = [
  { table: 'usage_rollup_hour', grainMs: HOUR, columns: ['org', 'team', 'app', 'user_id', 'feature', 'model', 'provider', 'cache_status', 'error_code'] },
  // Daily, one per kind of dashboard query; among those with the columns a query needs, the first with the fewest wins.
  { table: 'usage_rollup_day_app', grainMs: DAY, columns: ['org', 'team', 'app'] },
  { table: 'usage_rollup_day_feature', grainMs: DAY, columns: ['org', 'team', 'feature'] },
  { table: 'usage_rollup_day_user', grainMs: DAY, columns: ['org', 'user_id'] },
  { table: 'usage_rollup_day_team_user', grainMs: DAY, columns: ['org', 'team', 'user_id'] },
  { table: 'usage_rollup_day_provider', grainMs: DAY, columns: ['org', 'team', 'model', 'provider'] },
  { table: 'usage_rollup_day_outcome', grainMs: DAY, columns: ['org', 'team', 'model', 'cache_status', 'error_code'] },
];

/** A piece of a query's time range and where it is read from: a summary table, or the usage records (null). */
export interface Segment {
  from: number;
  to: number;
  rollup: Rollup | null;
}

/** The table columns a query needs: what it groups by and what it filters on. */
function neededColumns(query: UsageQuery): string[] {
  const columns = new Set<string>(groupColumnsOf(query.groupBy).map((field) => SQL_COLUMN[field]));
  for (const field of FILTER_FIELDS) if (query.where?.[field] !== undefined) columns.add(SQL_COLUMN[field]);
  return [...columns];
}

/** The narrowest summary of a grain that has every needed column (the first of those in ROLLUPS), if any. */
function pick(grainMs: number, needed: readonly string[]): Rollup | null {
  let best: Rollup | null = null;
  for (const rollup of ROLLUPS) {
    if (rollup.grainMs !== grainMs || !needed.every((c) => rollup.columns.includes(c))) continue;
    if (!best || rollup.columns.length < best.columns.length) best = rollup;
  }
  return best;
}

/**
 * Splits [from, to) so that whole UTC days come from a daily summary, whole hours around them from the hourly one,
 * and only the partial hours at either end from the usage records (through the started_at index): exact sums, with
 * the records read bounded by two hours whatever the range. A query no summary can answer (a column they lack, a
 * bucket that is not whole hours) is one raw segment.
 */
export function planSegments(query: UsageQuery): Segment[] {
  const { from, to } = query;
  const whole = [{ from, to, rollup: null }];
  const needed = neededColumns(query);
  const bucket = query.bucketMs;
  const hourly = bucket === undefined || bucket % HOUR === 0 ? pick(HOUR, needed) : null;
  const h0 = Math.ceil(from / HOUR) * HOUR;
  const h1 = Math.floor(to / HOUR) * HOUR;
  if (!hourly || h1 <= h0) return whole;
  const daily = (bucket === undefined || bucket % DAY === 0 ? pick(DAY, needed) : null) ?? hourly;
  const d0 = Math.ceil(from / DAY) * DAY;
  const d1 = Math.floor(to / DAY) * DAY;
  const segments: Segment[] = [];
  const add = (a: number, b: number, rollup: Rollup | null) => {
    if (b > a) segments.push({ from: a, to: b, rollup });
  };
  add(from, h0, null);
  if (d1 > d0 && daily !== hourly) {
    add(h0, d0, hourly);
    add(d0, d1, daily);
    add(d1, h1, hourly);
  } else {
    add(h0, h1, hourly);
  }
  add(h1, to, null);
  return segments;
}

/** What differs between the ledger's two SQL dialects for these queries. */
export interface RollupDialect {
  placeholder(n: number): string;
  /** A usage record's start in [from, to): the placeholders of the two epoch-ms bounds. */
  rawRange(from: string, to: string): string;
  /** A usage record's time bucket (epoch ms) of `bucketMs`. */
  rawBucket(bucketMs: number): string;
  /** How the outer sums are returned (PostgreSQL: text, read back exactly). */
  result(expr: string): string;
}

/** A usage record's share of each summed measure, under the names the summary tables use. */
const RAW_MEASURES = `1 AS requests, prompt_tokens, completion_tokens, cached_prompt_tokens,
  coalesce(cost_nano_usd, 0) AS cost_nano_usd, coalesce(saved_nano_usd, 0) AS saved_nano_usd,
  CASE WHEN status >= 400 THEN 1 ELSE 0 END AS errors, coalesce(latency_ms, 0) AS latency_ms_sum,
  CASE WHEN latency_ms IS NULL THEN 0 ELSE 1 END AS latency_count, coalesce(feedback_score, 0) AS feedback_sum,
  CASE WHEN feedback_score IS NULL THEN 0 ELSE 1 END AS feedback_count`;
const SUMMED_MEASURES = 'requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count';

/**
 * One statement over the query's segments: each reads its rows (records or summary rows) in the same shape, and the
 * outer query sums them per bucket and group, with the column names the sinks' raw aggregate returns. Groups whose
 * rows all cancelled out (a record that moved to another group on update) are left out, as the records have none.
 */
export function segmentedAggregateSql(query: UsageQuery, segments: readonly Segment[], dialect: RollupDialect): { sql: string; params: Array<string | number> } {
  const columns = groupColumnsOf(query.groupBy).map((field) => SQL_COLUMN[field]);
  const params: Array<string | number> = [];
  const bind = (value: string | number) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const bucketMs = query.bucketMs;
  const parts = segments.map((segment) => {
    const from = bind(segment.from);
    const to = bind(segment.to);
    const filters = FILTER_FIELDS.filter((field) => query.where?.[field] !== undefined)
      .map((field) => ` AND ${SQL_COLUMN[field]} = ${bind(query.where?.[field] as string)}`).join('');
    const select = columns.length ? `${columns.join(', ')}, ` : '';
    if (!segment.rollup) {
      const bucket = bucketMs ? `${dialect.rawBucket(bucketMs)} AS bucket, ` : '';
      return `SELECT ${bucket}${select}${RAW_MEASURES} FROM usage_records WHERE ${dialect.rawRange(from, to)}${filters}`;
    }
    const bucket = bucketMs ? `(bucket_ms / ${bucketMs}) * ${bucketMs} AS bucket, ` : '';
    return `SELECT ${bucket}${select}${SUMMED_MEASURES} FROM ${segment.rollup.table} WHERE bucket_ms >= ${from} AND bucket_ms < ${to}${filters}`;
  });
  const grouping = bucketMs ? ['bucket', ...columns] : columns;
  const sum = (column: string, as: string) => `${dialect.result(`sum(${column})`)} AS ${as}`;
  const sql = `SELECT ${bucketMs ? `${dialect.result('bucket')} AS bucket, ` : ''}${columns.length ? `${columns.join(', ')}, ` : ''}${sum('requests', 'requests')},
    ${sum('prompt_tokens', 'prompt_tokens')}, ${sum('completion_tokens', 'completion_tokens')}, ${sum('cached_prompt_tokens', 'cached_prompt_tokens')},
    ${sum('cost_nano_usd', 'cost')}, ${sum('saved_nano_usd', 'saved')}, ${sum('errors', 'errors')}, ${sum('latency_ms_sum', 'latency_sum')},
    ${sum('latency_count', 'latency_count')}, ${sum('feedback_sum', 'feedback_sum')}, ${sum('feedback_count', 'feedback_count')}
  FROM (${parts.join('\n  UNION ALL ')}) AS segments
  ${grouping.length ? `GROUP BY ${grouping.join(', ')} ` : ''}HAVING sum(requests) > 0${grouping.length ? ` ORDER BY ${grouping.join(', ')}` : ''}`;
  return { sql, params };
}
