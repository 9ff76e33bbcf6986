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
} as const satisfies Record<string, readonly string[]>;

export type GroupBy = keyof typeof GROUP_COLUMNS;
export type GroupColumn = (typeof GROUP_COLUMNS)[GroupBy][number];

/** Record field → table column (the same in both dialects; `user` is reserved in PostgreSQL). */
export const SQL_COLUMN: Record<GroupColumn, string> = {
  org: 'org', team: 'team', app: 'app', user: 'user_id', feature: 'feature', model: 'model', provider: 'provider', variant: 'variant',
};

export function isGroupBy(value: string): value is GroupBy {
  return Object.hasOwn(GROUP_COLUMNS, value);
}

export interface UsageQuery {
  groupBy: GroupBy;
  /** Epoch ms, inclusive: records whose request started in [from, to). */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

export interface UsageGroup {
  /** The group's identifying columns, e.g. { org: 'acme', team: 'research' }; null for records without a value. */
  key: Partial<Record<GroupColumn, string | null>>;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  /** Exact sum of the priced records. */
  costNanoUsd: bigint;
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
