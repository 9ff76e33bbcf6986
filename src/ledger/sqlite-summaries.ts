import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { HOUR, ROLLUPS, type Rollup } from './rollups.ts';

/**
 * Keeps the SQLite summary tables (migration 0006) equal to usage_records without row triggers (migration 0007
 * dropped those: 7 upserts per insert and 21 statements per update cost 3 to 5 times the record write itself).
 *
 * A writer captures, in its own transaction, the contribution of every row it is about to change (negated) and of
 * every row it changed into usage_rollup_delta: an append-only table, a page or two per batch. flush() sums the
 * captured rows per summary key, applies one upsert per key and table, deletes the rows whose request count fell to
 * zero, and empties the table. It runs once enough rows have gathered, and before every read of the summaries:
 * over some seconds most keys are hit many times (a day's team), and a request's pending contribution usually
 * cancels out against its final entry's, so there are far fewer upserts than changes. Between flushes the summaries
 * plus the captured rows are exactly usage_records (both in the same transactions, so a crash loses neither); after
 * a flush the summaries alone are what the triggers kept: the contribution of a row is the triggers' (and the
 * backfill's) expressions.
 *
 * Every writer of usage_records must capture before and after its change (sqlite-ledger.ts: write, closeOrphans,
 * feedback); a statement that changes the table without it leaves the summaries wrong.
 */

const DIMENSIONS = ['org', 'team', 'app', 'user_id', 'feature', 'model', 'provider', 'cache_status', 'error_code'] as const;
const MEASURES = [
  'requests', 'prompt_tokens', 'completion_tokens', 'cached_prompt_tokens', 'cost_nano_usd', 'saved_nano_usd', 'errors',
  'latency_ms_sum', 'latency_count', 'feedback_sum', 'feedback_count',
] as const;

/** A usage record's share of each measure: the same expressions as migration 0006's triggers and backfill. */
const CONTRIBUTION = [
  '1', 'r.prompt_tokens', 'r.completion_tokens', 'r.cached_prompt_tokens', 'coalesce(r.cost_nano_usd, 0)',
  'coalesce(r.saved_nano_usd, 0)', 'CASE WHEN r.status >= 400 THEN 1 ELSE 0 END', 'coalesce(r.latency_ms, 0)',
  'CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END', 'coalesce(r.feedback_score, 0)',
  'CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END',
];

/**
 * Captured rows (about 3 per request: pending in, pending out, final in) that make a flush due: about 20 s at 500
 * requests/s, long enough for most requests' pending and final entries to cancel out within one flush and for a
 * day's keys to be hit many times (test/bench/ledger-write.ts: 8192 cost about twice as much summary work per
 * record), short enough that a flush (a few hundred ms on the ledger's worker thread) stays small.
 */
export const DEFAULT_FLUSH_ROWS = 32_768;

/**
 * `INSERT … SELECT` of the contribution of the usage_records rows (alias r) that `from` selects, negated for rows
 * about to change (-1) or as they are now (1). `from` is the statement's FROM and WHERE clauses.
 */
export function captureSql(sign: 1 | -1, from: string): string {
  const measures = CONTRIBUTION.map((expr) => (sign < 0 ? `-(${expr})` : expr));
  return `INSERT INTO usage_rollup_delta (started_at_ms, ${DIMENSIONS.join(', ')}, ${MEASURES.join(', ')})
    SELECT r.started_at_ms, ${DIMENSIONS.map((d) => `r.${d}`).join(', ')}, ${measures.join(', ')} ${from}`;
}

/** A key whose changes cancel out (a request admitted and finished since the last flush) is not touched. */
const changed = (sum: (m: string) => string) => MEASURES.map((m) => `${sum(m)} <> 0`).join(' OR ');
const SET = MEASURES.map((m) => `${m} = ${m} + excluded.${m}`).join(', ');

// A flush first sums the captured rows per hourly key (every dimension) into this temporary table (in memory,
// emptied again at the end of the flush), keeping the keys that changed; then each summary from it: the daily ones
// read one row per hourly key that changed instead of every captured row.
const CREATE_FLUSH = `CREATE TEMP TABLE IF NOT EXISTS rollup_flush (bucket_ms INTEGER NOT NULL,
  ${DIMENSIONS.map((d) => `${d} TEXT`).join(', ')},
  ${MEASURES.map((m) => `${m} ${m.endsWith('_sum') ? 'REAL' : 'INTEGER'} NOT NULL`).join(', ')})`;

// Grouped with the columns of most distinct values first: the sort behind the GROUP BY compares fewer columns
// (a sixth less time than in the table's column order).
const GROUP_ORDER = ['user_id', 'feature', 'team', 'app', 'model', 'provider', 'cache_status', 'error_code', 'org'] as const;
const SUM_BY_HOUR = `INSERT INTO temp.rollup_flush
  SELECT (started_at_ms / ${HOUR}) * ${HOUR}, ${DIMENSIONS.join(', ')}, ${MEASURES.map((m) => `sum(${m})`).join(', ')}
  FROM usage_rollup_delta GROUP BY ${GROUP_ORDER.join(', ')}, 1 HAVING ${changed((m) => `sum(${m})`)}`;

const FINEST = ROLLUPS[0] as Rollup;
if (FINEST.grainMs !== HOUR || DIMENSIONS.some((d) => !FINEST.columns.includes(d))) {
  throw new Error('the first summary must be the hourly one with every dimension: the others are summed from it');
}

function upsertSql(rollup: Rollup): string {
  const columns = rollup.columns.join(', ');
  const into = `INSERT INTO ${rollup.table} (bucket_ms, dims, ${columns}, ${MEASURES.join(', ')})`;
  if (rollup === FINEST) {
    return `${into} SELECT bucket_ms, json_array(${columns}), ${columns}, ${MEASURES.join(', ')} FROM temp.rollup_flush
      WHERE true ON CONFLICT (bucket_ms, dims) DO UPDATE SET ${SET}`;
  }
  const bucket = `(bucket_ms / ${rollup.grainMs}) * ${rollup.grainMs}`;
  return `${into} SELECT ${bucket}, json_array(${columns}), ${columns}, ${MEASURES.map((m) => `sum(${m})`).join(', ')}
    FROM temp.rollup_flush WHERE true GROUP BY ${bucket}, ${columns} HAVING ${changed((m) => `sum(${m})`)}
    ON CONFLICT (bucket_ms, dims) DO UPDATE SET ${SET}`;
}

/**
 * The keys that now hold no record (a pending request's key once it is final) go, as the triggers did. A key can only
 * have come to zero through an hourly key of it whose request count changed by zero or less: a key that held
 * records lost some, and one that held none only has a row if some change touched it without adding a record.
 */
function deleteEmptySql(rollup: Rollup): string {
  const bucket = `(bucket_ms / ${rollup.grainMs}) * ${rollup.grainMs}`;
  return `DELETE FROM ${rollup.table} WHERE (bucket_ms, dims) IN
    (SELECT ${bucket}, json_array(${rollup.columns.join(', ')}) FROM temp.rollup_flush WHERE requests <= 0) AND requests = 0`;
}

export class SqliteSummaries {
  readonly #db: DatabaseSync;
  readonly #flushRows: number;
  readonly #apply: StatementSync[];
  readonly #clear: StatementSync;
  readonly #any: StatementSync;
  /** Rows captured since the last flush, as far as this connection knows (another process may add some). */
  #captured: number;

  constructor(db: DatabaseSync, flushRows = DEFAULT_FLUSH_ROWS) {
    this.#db = db;
    this.#flushRows = flushRows;
    db.exec('PRAGMA temp_store = MEMORY');
    db.exec(CREATE_FLUSH);
    this.#apply = [
      db.prepare(SUM_BY_HOUR),
      ...ROLLUPS.flatMap((rollup) => [db.prepare(upsertSql(rollup)), db.prepare(deleteEmptySql(rollup))]),
      db.prepare('DELETE FROM temp.rollup_flush'),
    ];
    this.#clear = db.prepare('DELETE FROM usage_rollup_delta');
    this.#any = db.prepare('SELECT EXISTS (SELECT 1 FROM usage_rollup_delta) AS any');
    this.#captured = Number((db.prepare('SELECT count(*) AS n FROM usage_rollup_delta').get() as { n: number }).n);
  }

  /** Runs a capture statement (of captureSql) inside the writer's transaction. */
  capture(statement: StatementSync, ...params: Array<string | number>): void {
    this.#captured += Number(statement.run(...params).changes);
  }

  /** At the end of a writer's transaction: flushes when enough has been captured. */
  flushIfDue(): void {
    if (this.#captured >= this.#flushRows) this.flush();
  }

  /** Whether there is anything to flush (from this connection or another), before a read of the summaries. */
  pending(): boolean {
    return this.#captured > 0 || Boolean((this.#any.get() as { any: number }).any);
  }

  /** Applies every captured row to the summary tables; inside a write transaction. */
  flush(): void {
    for (const statement of this.#apply) statement.run();
    this.#clear.run();
    this.#captured = 0;
  }
}
