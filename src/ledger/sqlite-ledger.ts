import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { loadMigrations } from './migrations.ts';
import { planSegments, segmentedAggregateSql, type RollupDialect } from './rollups.ts';
import { checkedBucketMs, filterConditions, groupColumnsOf, SQL_COLUMN, type UsageGroup, type UsageQuery } from './sink.ts';
import { captureSql, SqliteSummaries } from './sqlite-summaries.ts';
import { latestPerRequest, STATE_RANK, type CacheStatus, type RecordState, type UsageRecord } from './usage-record.ts';

const COLUMNS = [
  'request_id', 'state', 'state_rank', 'started_at_ms', 'ended_at_ms', 'org', 'team', 'app', 'user_id', 'feature',
  'key_id', 'endpoint', 'model', 'provider', 'upstream_model', 'attempts', 'stream', 'prompt_tokens',
  'completion_tokens', 'cached_prompt_tokens', 'cache_write_tokens', 'cost_nano_usd', 'pricing_id', 'latency_ms',
  'status', 'outcome', 'error_code', 'cache_status', 'written_at_ms', 'variant', 'reasoning_tokens', 'trace_id',
  'saved_nano_usd',
];

const UPSERT_SQL = `INSERT INTO usage_records (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})
ON CONFLICT (request_id) DO UPDATE SET ${COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}
WHERE usage_records.state_rank < excluded.state_rank
RETURNING request_id`;

// What each writer captures for the summaries (sqlite-summaries.ts), before and after its change.
// A batch's rows that its upsert will replace: those of a lower state rank than the entry (the upsert's own WHERE).
const CAPTURE_REPLACED = captureSql(-1, `FROM json_each(?) AS b JOIN usage_records r ON r.request_id = b.value ->> 0
  WHERE r.state_rank < b.value ->> 1`);
const BY_IDS = 'FROM usage_records r WHERE r.request_id IN (SELECT value FROM json_each(?))';
const CAPTURE_WRITTEN = captureSql(1, BY_IDS);
const CAPTURE_BEFORE = captureSql(-1, BY_IDS);
const ORPHANS_WHERE = "WHERE r.state = 'pending' AND r.started_at_ms < ?";
const FEEDBACK_WHERE = 'WHERE r.request_id = ? AND r.org = ? AND r.team = ? AND r.app = ?';

export interface SqliteLedgerOptions {
  /**
   * false: leave the summary tables alone (they go stale, and aggregates read them): only for the write benchmark,
   * which measures the ledger with and without them.
   */
  maintainSummaries?: boolean;
  /** Captured summary changes that make a flush due (sqlite-summaries.ts); tests and benchmarks vary it. */
  summaryFlushRows?: number;
}

/** The summary upkeep and the capture statements of the writers. */
interface Summaries {
  upkeep: SqliteSummaries;
  replaced: StatementSync;
  written: StatementSync;
  before: StatementSync;
}

type SqlValue = string | number | bigint | null;
type Row = Record<string, SqlValue>;

function toParams(record: UsageRecord, now: number): SqlValue[] {
  return [
    record.requestId, record.state, STATE_RANK[record.state], record.startedAt, record.endedAt, record.org,
    record.team, record.app, record.user, record.feature, record.keyId, record.endpoint, record.model,
    record.provider, record.upstreamModel, JSON.stringify(record.attempts), record.stream ? 1 : 0,
    record.promptTokens, record.completionTokens, record.cachedPromptTokens, record.cacheWriteTokens,
    record.costNanoUsd, record.pricingId, record.latencyMs, record.status, record.outcome, record.errorCode,
    record.cacheStatus, now, record.variant, record.reasoningTokens, record.traceId, record.savedNanoUsd ?? null,
  ];
}

const num = (value: SqlValue): number => Number(value);
const numOrNull = (value: SqlValue): number | null => (value === null ? null : Number(value));
const strOrNull = (value: SqlValue): string | null => (value === null ? null : String(value));

/** Rows are read with BigInt integers (the cost needs 64 bits); everything else becomes a number. */
function fromRow(row: Row): UsageRecord {
  return {
    requestId: String(row.request_id), state: row.state as RecordState, startedAt: num(row.started_at_ms as SqlValue),
    endedAt: numOrNull(row.ended_at_ms as SqlValue), org: String(row.org), team: String(row.team), app: String(row.app),
    user: strOrNull(row.user_id as SqlValue), feature: strOrNull(row.feature as SqlValue), keyId: String(row.key_id),
    endpoint: strOrNull(row.endpoint as SqlValue), model: strOrNull(row.model as SqlValue), variant: strOrNull((row.variant ?? null) as SqlValue),
    traceId: strOrNull((row.trace_id ?? null) as SqlValue),
    provider: strOrNull(row.provider as SqlValue), upstreamModel: strOrNull(row.upstream_model as SqlValue),
    attempts: JSON.parse(String(row.attempts)) as UsageRecord['attempts'], stream: num(row.stream as SqlValue) === 1,
    promptTokens: num(row.prompt_tokens as SqlValue), completionTokens: num(row.completion_tokens as SqlValue),
    cachedPromptTokens: num(row.cached_prompt_tokens as SqlValue), cacheWriteTokens: num(row.cache_write_tokens as SqlValue),
    costNanoUsd: row.cost_nano_usd === null ? null : BigInt(row.cost_nano_usd as bigint),
    pricingId: strOrNull(row.pricing_id as SqlValue), latencyMs: numOrNull(row.latency_ms as SqlValue),
    status: numOrNull(row.status as SqlValue), outcome: String(row.outcome), errorCode: strOrNull(row.error_code as SqlValue),
    cacheStatus: strOrNull(row.cache_status as SqlValue) as CacheStatus | null,
    reasoningTokens: num((row.reasoning_tokens ?? 0) as SqlValue),
    ...(row.saved_nano_usd === null || row.saved_nano_usd === undefined ? {} : { savedNanoUsd: BigInt(row.saved_nano_usd as bigint) }),
  };
}

const SQLITE_DIALECT: RollupDialect = {
  placeholder: () => '?',
  rawRange: (from, to) => `started_at_ms >= ${from} AND started_at_ms < ${to}`,
  // Integer division floors epoch ms to the bucket's start (UTC; ms are never negative here).
  rawBucket: (bucketMs) => `(started_at_ms / ${checkedBucketMs(bucketMs)}) * ${bucketMs}`,
  result: (expr) => expr,
};

/** One aggregate row (either query shape: they name their columns alike) as a UsageGroup. */
function toGroup(row: Row, query: UsageQuery): UsageGroup {
  return {
    key: Object.fromEntries(groupColumnsOf(query.groupBy).map((field) => [field, strOrNull(row[SQL_COLUMN[field]] ?? null)])),
    ...(query.bucketMs ? { bucket: num(row.bucket as SqlValue) } : {}),
    requests: num(row.requests as SqlValue),
    promptTokens: num(row.prompt_tokens as SqlValue),
    completionTokens: num(row.completion_tokens as SqlValue),
    cachedPromptTokens: num(row.cached_prompt_tokens as SqlValue),
    costNanoUsd: BigInt(row.cost as bigint),
    savedNanoUsd: BigInt((row.saved ?? 0n) as bigint),
    errors: num(row.errors as SqlValue),
    latencyMsSum: num(row.latency_sum as SqlValue),
    latencyCount: num(row.latency_count as SqlValue),
    feedbackSum: num(row.feedback_sum as SqlValue),
    feedbackCount: num(row.feedback_count as SqlValue),
  };
}

/**
 * The embedded ledger in SQLite (node:sqlite). Synchronous, so Tollgate runs it on a worker thread
 * (sqlite-worker.ts); tests may use it directly. WAL mode: readers (the usage API) never block the writer.
 */
export class SqliteLedger {
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  readonly #summaries: Summaries | null;

  constructor(path: string, options: SqliteLedgerOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    // temp_store MEMORY: statement journals (upserts, triggers) stay in memory instead of a temp file written with a
    // pwrite per page: ~4 extra syscalls per request at 500 requests/s (issue 11).
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;');
    this.migrate();
    this.#upsert = this.#db.prepare(UPSERT_SQL);
    this.#summaries = options.maintainSummaries === false ? null : {
      upkeep: new SqliteSummaries(this.#db, options.summaryFlushRows),
      replaced: this.#db.prepare(CAPTURE_REPLACED),
      written: this.#db.prepare(CAPTURE_WRITTEN),
      before: this.#db.prepare(CAPTURE_BEFORE),
    };
  }

  private migrate(): void {
    this.#db.exec('CREATE TABLE IF NOT EXISTS ledger_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
    const applied = new Set(this.#db.prepare('SELECT version FROM ledger_migrations').all().map((row) => String(row.version)));
    for (const migration of loadMigrations('sqlite')) {
      if (applied.has(migration.version)) continue;
      this.transaction(() => {
        this.#db.exec(migration.sql);
        this.#db.prepare('INSERT INTO ledger_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
      });
    }
  }

  /** BEGIN IMMEDIATE takes the write lock up front, so two processes on one file wait (busy_timeout) instead of failing. */
  private transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  write(batch: readonly UsageRecord[]): UsageRecord[] {
    const records = latestPerRequest(batch);
    const now = Date.now();
    const summaries = this.#summaries;
    return this.transaction(() => {
      summaries?.upkeep.capture(summaries.replaced, JSON.stringify(records.map((record) => [record.requestId, STATE_RANK[record.state]])));
      const written = records.filter((record) => this.#upsert.get(...toParams(record, now)) !== undefined);
      if (summaries && written.length > 0) {
        summaries.upkeep.capture(summaries.written, JSON.stringify(written.map((record) => record.requestId)));
        summaries.upkeep.flushIfDue();
      }
      return written;
    });
  }

  closeOrphans(startedBefore: number, now: number): UsageRecord[] {
    const statement = this.#db.prepare(
      `UPDATE usage_records SET state = 'orphaned', state_rank = ?, outcome = 'orphaned', ended_at_ms = ?, written_at_ms = ?
       WHERE state = 'pending' AND started_at_ms < ? RETURNING *`,
    );
    statement.setReadBigInts(true);
    // Orphaning changes no summed column today; it goes through the summaries all the same, so it stays right if
    // one ever is.
    return this.#withSummaries(ORPHANS_WHERE, [startedBefore],
      () => statement.all(STATE_RANK.orphaned, now, now, startedBefore).map((row) => fromRow(row as Row)));
  }

  feedback(requestId: string, tenant: { org: string; team: string; app: string }, score: number): boolean {
    const statement = this.#db.prepare('UPDATE usage_records SET feedback_score = ? WHERE request_id = ? AND org = ? AND team = ? AND app = ?');
    const where = [requestId, tenant.org, tenant.team, tenant.app];
    return this.#withSummaries(FEEDBACK_WHERE, where, () => Number(statement.run(score, ...where).changes) > 0);
  }

  /**
   * An UPDATE of the rows `where` selects (alias r), in one transaction with its summary changes: the rows'
   * contributions taken out before and put back after. The update must change exactly those rows (the same WHERE).
   */
  #withSummaries<T>(where: string, params: SqlValue[], update: () => T): T {
    const summaries = this.#summaries;
    return this.transaction(() => {
      if (!summaries) return update();
      const ids = JSON.stringify(this.#db.prepare(`SELECT r.request_id FROM usage_records r ${where}`).all(...params).map((row) => String(row.request_id)));
      summaries.upkeep.capture(summaries.before, ids);
      const result = update();
      summaries.upkeep.capture(summaries.written, ids);
      summaries.upkeep.flushIfDue();
      return result;
    });
  }

  /**
   * Whether a range covers so much of the table that reading the table straight through beats the started_at index
   * (one random row lookup per index entry: about three times slower over 100k rows when the range holds them all).
   * SQLite's planner cannot tell without range statistics; the table's time span costs two index probes.
   */
  #rangeIsMostOfTable(from: number, to: number): boolean {
    // Two subqueries: SQLite answers a lone min() or max() from the index, but both in one SELECT by a full scan.
    const span = this.#db.prepare(
      'SELECT (SELECT min(started_at_ms) FROM usage_records) AS first, (SELECT max(started_at_ms) FROM usage_records) AS last',
    ).get() as { first: number | null; last: number | null };
    if (span.first === null || span.last === null || span.last <= span.first) return false;
    const covered = Math.min(to, span.last) - Math.max(from, span.first);
    return covered / (span.last - span.first) > 0.25;
  }

  /**
   * Sums by group (and time bucket): whole hours and days from the summary tables the writers keep (see
   * rollups.ts), the records only for what they cannot answer.
   */
  aggregate(query: UsageQuery): UsageGroup[] {
    this.#flushSummaries();
    const segments = planSegments(query);
    if (segments.length === 1 && segments[0]?.rollup === null) return this.#aggregateRecords(query);
    const { sql, params } = segmentedAggregateSql(query, segments, SQLITE_DIALECT);
    const statement = this.#db.prepare(sql);
    statement.setReadBigInts(true);
    return statement.all(...params).map((raw) => toGroup(raw as Row, query));
  }

  #aggregateRecords(query: UsageQuery): UsageGroup[] {
    const fields = groupColumnsOf(query.groupBy);
    const columns = fields.map((field) => SQL_COLUMN[field]);
    const filters = filterConditions(query.where, () => '?', 0);
    // Integer division floors epoch ms to the bucket's start (UTC; ms are never negative here).
    const grouping = query.bucketMs ? [`(started_at_ms / ${checkedBucketMs(query.bucketMs)}) * ${query.bucketMs}`, ...columns] : columns;
    const statement = this.#db.prepare(
      `SELECT ${query.bucketMs ? `${grouping[0]} AS bucket, ` : ''}${columns.join(', ')}, count(*) AS requests, total(prompt_tokens) AS prompt_tokens,
         total(completion_tokens) AS completion_tokens, total(cached_prompt_tokens) AS cached_prompt_tokens,
         coalesce(sum(cost_nano_usd), 0) AS cost, coalesce(sum(saved_nano_usd), 0) AS saved, count(CASE WHEN status >= 400 THEN 1 END) AS errors,
         total(latency_ms) AS latency_sum, count(latency_ms) AS latency_count,
         total(feedback_score) AS feedback_sum, count(feedback_score) AS feedback_count
       FROM usage_records${this.#rangeIsMostOfTable(query.from, query.to) ? ' NOT INDEXED' : ''}
       WHERE started_at_ms >= ? AND started_at_ms < ?${filters.sql}
       GROUP BY ${grouping.join(', ')} ORDER BY ${grouping.join(', ')}`,
    );
    statement.setReadBigInts(true);
    return statement.all(query.from, query.to, ...filters.params).map((raw) => toGroup(raw as Row, query));
  }

  /** Applies the summary changes captured so far: before the summaries are read, and on close. */
  #flushSummaries(): void {
    const upkeep = this.#summaries?.upkeep;
    if (upkeep?.pending()) this.transaction(() => upkeep.flush());
  }

  get(requestId: string): UsageRecord | null {
    const statement = this.#db.prepare('SELECT * FROM usage_records WHERE request_id = ?');
    statement.setReadBigInts(true);
    const row = statement.get(requestId);
    return row ? fromRow(row as Row) : null;
  }

  close(): void {
    // Left unflushed, the changes would wait for the next open; flushed, the file's summaries are whole on their own.
    this.#flushSummaries();
    this.#db.close();
  }
}
