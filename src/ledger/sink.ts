import type { UsageRecord } from './usage-record.ts';

/** The dimensions usage can be grouped by, and the record columns that identify one group of each. */
export const GROUP_COLUMNS = {
  org: ['org'],
  team: ['org', 'team'],
  app: ['org', 'team', 'app'],
  user: ['org', 'user'],
  feature: ['org', 'feature'],
  model: ['model'],
  variant: ['model', 'variant'],
  provider: ['provider'],
  // Why requests failed (denials, limits, upstream errors) and what the cache did: the dashboard's breakdowns.
  error_code: ['error_code'],
  cache_status: ['cache_status'],
} as const satisfies Record<string, readonly string[]>;

export type GroupBy = keyof typeof GROUP_COLUMNS;
export type GroupColumn = (typeof GROUP_COLUMNS)[GroupBy][number];

/** Record field → table column (the same in both dialects; `user` is reserved in PostgreSQL). */
export const SQL_COLUMN: Record<GroupColumn, string> = {
  org: 'org', team: 'team', app: 'app', user: 'user_id', feature: 'feature', model: 'model', provider: 'provider', variant: 'variant',
  error_code: 'error_code', cache_status: 'cache_status',
};

/** The fields usage can be narrowed to (equality on each one given). */
export const FILTER_FIELDS = ['org', 'team', 'app', 'user', 'feature', 'model', 'provider'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];
export type UsageFilters = Partial<Record<FilterField, string>>;

/**
 * The SQL conditions of a query's filters, in either dialect (`placeholder(n)` numbers them from `first`): column
 * names come from SQL_COLUMN, values are always bound.
 */
export function filterConditions(where: UsageFilters | undefined, placeholder: (n: number) => string, first: number): { sql: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  for (const field of FILTER_FIELDS) {
    const value = where?.[field];
    if (value === undefined) continue;
    params.push(value);
    parts.push(`${SQL_COLUMN[field]} = ${placeholder(first + params.length - 1)}`);
  }
  return { sql: parts.map((part) => ` AND ${part}`).join(''), params };
}

/** A bucket width the SQL may inline: a whole number of milliseconds, at least a minute. */
export function checkedBucketMs(bucketMs: number): number {
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 60_000) throw new Error(`usage bucket must be a whole number of ms >= 60000, got ${bucketMs}`);
  return bucketMs;
}

/** The columns a query groups by. */
export const groupColumnsOf = (groupBy: UsageQuery['groupBy']): readonly GroupColumn[] =>
  typeof groupBy === 'string' ? GROUP_COLUMNS[groupBy] : groupBy;

export function isGroupBy(value: string): value is GroupBy {
  return Object.hasOwn(GROUP_COLUMNS, value);
}

export interface UsageQuery {
  /** A named grouping, or the columns themselves (several breakdowns folded from one scan). */
  groupBy: GroupBy | readonly GroupColumn[];
  /** Epoch ms, inclusive: records whose request started in [from, to). */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Only records matching every field given. */
  where?: UsageFilters;
  /** Also group by time: buckets of this many ms since the epoch (UTC), each group then carries its `bucket`. */
  bucketMs?: number;
}

export interface UsageGroup {
  /** The group's identifying columns, e.g. { org: 'acme', team: 'research' }; null for records without a value. */
  key: Partial<Record<GroupColumn, string | null>>;
  /** Start of the group's time bucket (epoch ms), when the query asked for buckets. */
  bucket?: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  /** Exact sum of the priced records. */
  costNanoUsd: bigint;
  /** Exact sum of what the cache hits among them would have cost at the provider (their own cost is 0). */
  savedNanoUsd: bigint;
  /** Requests the client got an error for (status 400 and above). */
  errors: number;
  /** Sum and count of the feedback scores sent (POST /v1/feedback). */
  feedbackSum: number;
  feedbackCount: number;
  /** Sum and count of the latencies recorded (for means that combine across groups). */
  latencyMsSum: number;
  latencyCount: number;
}

/**
 * Where usage records live. Every write is an upsert by request id that only moves a row to a higher-ranked state
 * (see usage-record.ts), so writing the same entry twice is harmless.
 */
export interface LedgerSink {
  readonly kind: 'postgres' | 'sqlite';
  /** Applies the migrations in src/ledger/migrations that this database has not seen yet. */
  migrate(): Promise<void>;
  /** Upserts in one transaction; returns the records whose row changed (for the exporter). */
  write(records: readonly UsageRecord[]): Promise<UsageRecord[]>;
  /** Closes pending rows that started before `startedBefore` (epoch ms) as orphaned; returns them. */
  closeOrphans(startedBefore: number, now: number): Promise<UsageRecord[]>;
  aggregate(query: UsageQuery): Promise<UsageGroup[]>;
  /**
   * Records a feedback score for a request of this tenant (org, team and app must match: a key rates only its own
   * app's answers); false when there is no such record (yet).
   */
  feedback(requestId: string, tenant: { org: string; team: string; app: string }, score: number): Promise<boolean>;
  /** One record by request id (admin look-ups, tests). */
  get(requestId: string): Promise<UsageRecord | null>;
  close(): Promise<void>;
}
