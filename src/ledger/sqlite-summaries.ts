import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { ROLLUPS, type Rollup } from './rollups.ts';

/**
 * Keeps the SQLite summary tables (migration 0006) equal to usage_records, one set of statements per write
 * transaction instead of row triggers (migration 0007 dropped those: 7 upserts per insert and 21 statements per
 * update cost three times the record write itself). Like PostgreSQL's statement triggers with transition tables:
 * a writer captures the contribution of every row it is about to change (negated) and of every row it changed, into
 * a temporary table; apply() then sums them per summary key and applies one upsert per key and table, and deletes the
 * rows whose request count fell to zero. The contribution of a row is the triggers' (and the backfill's) expressions,
 * so the summaries hold what the triggers would have put there.
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

// A temporary table lives in the connection (temp_store = MEMORY: never a file) and its rows in the transaction,
// so a rolled-back write leaves none behind.
const CREATE_DELTA = `CREATE TEMP TABLE IF NOT EXISTS rollup_delta (started_at_ms INTEGER NOT NULL,
  ${DIMENSIONS.map((d) => `${d} TEXT`).join(', ')},
  ${MEASURES.map((m) => `${m} ${m.endsWith('_sum') ? 'REAL' : 'INTEGER'} NOT NULL`).join(', ')})`;

/**
 * `INSERT … SELECT` of the contribution of the usage_records rows (alias r) that `from` selects, negated for rows
 * about to change (-1) or as they are now (1). `from` is the statement's FROM and WHERE clauses.
 */
export function captureSql(sign: 1 | -1, from: string): string {
  const measures = CONTRIBUTION.map((expr) => (sign < 0 ? `-(${expr})` : expr));
  return `INSERT INTO temp.rollup_delta (started_at_ms, ${DIMENSIONS.join(', ')}, ${MEASURES.join(', ')})
    SELECT r.started_at_ms, ${DIMENSIONS.map((d) => `r.${d}`).join(', ')}, ${measures.join(', ')} ${from}`;
}

function upsertSql(rollup: Rollup): string {
  const bucket = `(started_at_ms / ${rollup.grainMs}) * ${rollup.grainMs}`;
  const columns = rollup.columns.join(', ');
  // A key whose changes cancel out (a request that moved on within one batch, an orphaned pending) is not touched,
  // as if its rows had been added and taken out again.
  const changed = MEASURES.map((m) => `sum(${m}) <> 0`).join(' OR ');
  return `INSERT INTO ${rollup.table} (bucket_ms, dims, ${columns}, ${MEASURES.join(', ')})
    SELECT ${bucket}, json_array(${columns}), ${columns}, ${MEASURES.map((m) => `sum(${m})`).join(', ')}
    FROM temp.rollup_delta WHERE true GROUP BY ${bucket}, ${columns} HAVING ${changed}
    ON CONFLICT (bucket_ms, dims) DO UPDATE SET ${MEASURES.map((m) => `${m} = ${m} + excluded.${m}`).join(', ')}`;
}

/** The keys that lost rows and now hold none (a pending request's key once it is final) go, as the triggers did. */
function deleteEmptySql(rollup: Rollup): string {
  const bucket = `(started_at_ms / ${rollup.grainMs}) * ${rollup.grainMs}`;
  return `DELETE FROM ${rollup.table} WHERE (bucket_ms, dims) IN
    (SELECT ${bucket}, json_array(${rollup.columns.join(', ')}) FROM temp.rollup_delta WHERE requests < 0) AND requests = 0`;
}

export class SqliteSummaries {
  readonly #apply: StatementSync[];
  readonly #clear: StatementSync;

  constructor(db: DatabaseSync) {
    db.exec('PRAGMA temp_store = MEMORY');
    db.exec(CREATE_DELTA);
    this.#apply = ROLLUPS.flatMap((rollup) => [db.prepare(upsertSql(rollup)), db.prepare(deleteEmptySql(rollup))]);
    this.#clear = db.prepare('DELETE FROM temp.rollup_delta');
  }

  /** Applies the captured changes to every summary table; inside the writer's transaction, after its change. */
  apply(): void {
    for (const statement of this.#apply) statement.run();
    this.#clear.run();
  }
}
