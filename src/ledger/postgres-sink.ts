import pg from 'pg';
import { loadMigrations } from './migrations.ts';
import { planSegments, segmentedAggregateSql, type RollupDialect } from './rollups.ts';
import { checkedBucketMs, filterConditions, groupColumnsOf, SQL_COLUMN, type LedgerSink, type UsageGroup, type UsageQuery } from './sink.ts';
import { latestPerRequest, STATE_RANK, type CacheStatus, type RecordState, type UsageAttempt, type UsageRecord } from './usage-record.ts';

/** Any constant: every Tollgate process takes this advisory lock while it migrates, so two never race. */
const MIGRATION_LOCK = 7_110_101;

/** The batch travels as one JSON parameter, so a batch of any size is one statement with one bind value. */
const BATCH_SHAPE = `r(request_id text, state text, state_rank smallint, started_at bigint, ended_at bigint,
  org text, team text, app text, user_id text, feature text, key_id text, endpoint text, model text, provider text,
  upstream_model text, attempts jsonb, stream boolean, prompt_tokens bigint, completion_tokens bigint,
  cached_prompt_tokens bigint, cache_write_tokens bigint, cost_nano_usd bigint, pricing_id text,
  latency_ms double precision, status integer, outcome text, error_code text, cache_status text, variant text,
  reasoning_tokens bigint, trace_id text, saved_nano_usd bigint)`;

const UPDATED_COLUMNS = [
  'state', 'state_rank', 'started_at', 'ended_at', 'org', 'team', 'app', 'user_id', 'feature', 'key_id', 'endpoint',
  'model', 'provider', 'upstream_model', 'attempts', 'stream', 'prompt_tokens', 'completion_tokens',
  'cached_prompt_tokens', 'cache_write_tokens', 'cost_nano_usd', 'pricing_id', 'latency_ms', 'status', 'outcome',
  'error_code', 'cache_status', 'variant', 'reasoning_tokens', 'trace_id', 'saved_nano_usd',
];

const UPSERT_SQL = `
INSERT INTO usage_records AS u (request_id, ${UPDATED_COLUMNS.join(', ')})
SELECT r.request_id, r.state, r.state_rank, to_timestamp(r.started_at / 1000.0), to_timestamp(r.ended_at / 1000.0),
  r.org, r.team, r.app, r.user_id, r.feature, r.key_id, r.endpoint, r.model, r.provider, r.upstream_model,
  coalesce(r.attempts, '[]'::jsonb), r.stream, r.prompt_tokens, r.completion_tokens, r.cached_prompt_tokens,
  r.cache_write_tokens, r.cost_nano_usd, r.pricing_id, r.latency_ms, r.status, r.outcome, r.error_code, r.cache_status,
  r.variant, coalesce(r.reasoning_tokens, 0), r.trace_id, r.saved_nano_usd
FROM jsonb_to_recordset($1::jsonb) AS ${BATCH_SHAPE}
ON CONFLICT (request_id) DO UPDATE SET ${UPDATED_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, written_at = now()
WHERE u.state_rank < EXCLUDED.state_rank
RETURNING u.request_id`;

const SELECT_COLUMNS = `request_id, state, (extract(epoch FROM started_at) * 1000)::float8 AS started_at_ms,
  (extract(epoch FROM ended_at) * 1000)::float8 AS ended_at_ms, org, team, app, user_id, feature, key_id, endpoint,
  model, provider, upstream_model, attempts, stream, prompt_tokens, completion_tokens, cached_prompt_tokens,
  cache_write_tokens, cost_nano_usd, pricing_id, latency_ms, status, outcome, error_code, cache_status, variant,
  reasoning_tokens, trace_id, saved_nano_usd`;

interface RecordRow {
  request_id: string;
  state: RecordState;
  started_at_ms: number;
  ended_at_ms: number | null;
  org: string;
  team: string;
  app: string;
  user_id: string | null;
  feature: string | null;
  key_id: string;
  endpoint: string | null;
  model: string | null;
  provider: string | null;
  upstream_model: string | null;
  attempts: UsageAttempt[];
  stream: boolean;
  /** bigint columns arrive as decimal strings. */
  prompt_tokens: string;
  completion_tokens: string;
  cached_prompt_tokens: string;
  cache_write_tokens: string;
  cost_nano_usd: string | null;
  pricing_id: string | null;
  latency_ms: number | null;
  status: number | null;
  outcome: string;
  error_code: string | null;
  cache_status: CacheStatus | null;
  variant: string | null;
  reasoning_tokens: string | null;
  trace_id: string | null;
  saved_nano_usd: string | null;
}

function toBatchRow(record: UsageRecord): Record<string, unknown> {
  return {
    request_id: record.requestId, state: record.state, state_rank: STATE_RANK[record.state],
    started_at: record.startedAt, ended_at: record.endedAt, org: record.org, team: record.team, app: record.app,
    user_id: record.user, feature: record.feature, key_id: record.keyId, endpoint: record.endpoint,
    model: record.model, provider: record.provider, upstream_model: record.upstreamModel, attempts: record.attempts,
    stream: record.stream, prompt_tokens: record.promptTokens, completion_tokens: record.completionTokens,
    cached_prompt_tokens: record.cachedPromptTokens, cache_write_tokens: record.cacheWriteTokens,
    // A string, since JSON numbers lose precision above 2^53 (jsonb_to_recordset parses it as bigint).
    cost_nano_usd: record.costNanoUsd === null ? null : record.costNanoUsd.toString(),
    pricing_id: record.pricingId, latency_ms: record.latencyMs, status: record.status, outcome: record.outcome,
    error_code: record.errorCode, cache_status: record.cacheStatus, variant: record.variant,
    reasoning_tokens: record.reasoningTokens,
    trace_id: record.traceId,
    saved_nano_usd: record.savedNanoUsd === undefined ? null : record.savedNanoUsd.toString(),
  };
}

function fromRow(row: RecordRow): UsageRecord {
  return {
    requestId: row.request_id, state: row.state, startedAt: Math.round(row.started_at_ms),
    endedAt: row.ended_at_ms === null ? null : Math.round(row.ended_at_ms), org: row.org, team: row.team, app: row.app,
    user: row.user_id, feature: row.feature, keyId: row.key_id, endpoint: row.endpoint, model: row.model,
    provider: row.provider, upstreamModel: row.upstream_model, attempts: row.attempts, stream: row.stream,
    promptTokens: Number(row.prompt_tokens), completionTokens: Number(row.completion_tokens),
    cachedPromptTokens: Number(row.cached_prompt_tokens), cacheWriteTokens: Number(row.cache_write_tokens),
    costNanoUsd: row.cost_nano_usd === null ? null : BigInt(row.cost_nano_usd), pricingId: row.pricing_id,
    latencyMs: row.latency_ms, status: row.status, outcome: row.outcome, errorCode: row.error_code,
    cacheStatus: row.cache_status, variant: row.variant ?? null, reasoningTokens: Number(row.reasoning_tokens ?? 0),
    traceId: row.trace_id ?? null,
    ...(row.saved_nano_usd === null || row.saved_nano_usd === undefined ? {} : { savedNanoUsd: BigInt(row.saved_nano_usd) }),
  };
}

const POSTGRES_DIALECT: RollupDialect = {
  placeholder: (n) => `$${n}`,
  rawRange: (from, to) => `started_at >= to_timestamp(${from} / 1000.0) AND started_at < to_timestamp(${to} / 1000.0)`,
  rawBucket: (bucketMs) => `(floor(extract(epoch FROM started_at) * 1000 / ${checkedBucketMs(bucketMs)}) * ${bucketMs})::bigint`,
  // Sums of bigint are numeric; as text they reach JavaScript exactly.
  result: (expr) => `(${expr})::text`,
};

/** One aggregate row (either query shape: they name their columns alike) as a UsageGroup. */
function toGroup(row: Record<string, string | null>, query: UsageQuery): UsageGroup {
  return {
    key: Object.fromEntries(groupColumnsOf(query.groupBy).map((field) => [field, row[SQL_COLUMN[field]] ?? null])),
    ...(query.bucketMs ? { bucket: Number(row.bucket) } : {}),
    requests: Number(row.requests),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    cachedPromptTokens: Number(row.cached_prompt_tokens),
    costNanoUsd: BigInt(row.cost ?? '0'),
    savedNanoUsd: BigInt(row.saved ?? '0'),
    errors: Number(row.errors),
    latencyMsSum: Number(row.latency_sum),
    latencyCount: Number(row.latency_count),
    feedbackSum: Number(row.feedback_sum),
    feedbackCount: Number(row.feedback_count),
  };
}

/** The ledger in PostgreSQL, through a small `pg` pool (the batch writer is its only busy user). */
export class PostgresSink implements LedgerSink {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;

  constructor(options: { url: string; poolSize?: number; onError?: (error: Error) => void }) {
    this.#pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 4, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection (server restart) must not crash the process; the next query reconnects.
    this.#pool.on('error', (error) => options.onError?.(error));
  }

  async migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS ledger_migrations (version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      const applied = new Set((await client.query<{ version: string }>('SELECT version FROM ledger_migrations')).rows.map((r) => r.version));
      for (const migration of loadMigrations('postgres')) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO ledger_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
  }

  async write(batch: readonly UsageRecord[]): Promise<UsageRecord[]> {
    const records = latestPerRequest(batch);
    if (records.length === 0) return [];
    const result = await this.#pool.query<{ request_id: string }>(UPSERT_SQL, [JSON.stringify(records.map(toBatchRow))]);
    const changed = new Set(result.rows.map((row) => row.request_id));
    return records.filter((record) => changed.has(record.requestId));
  }

  async closeOrphans(startedBefore: number, now: number): Promise<UsageRecord[]> {
    const result = await this.#pool.query<RecordRow>(
      `UPDATE usage_records SET state = 'orphaned', state_rank = $3, outcome = 'orphaned', ended_at = to_timestamp($2 / 1000.0),
         written_at = now()
       WHERE state = 'pending' AND started_at < to_timestamp($1 / 1000.0)
       RETURNING ${SELECT_COLUMNS}`,
      [startedBefore, now, STATE_RANK.orphaned],
    );
    return result.rows.map(fromRow);
  }

  /**
   * Sums by group (and time bucket): whole hours and days from the summary tables the triggers keep (see
   * rollups.ts), the records only for what they cannot answer.
   */
  async aggregate(query: UsageQuery): Promise<UsageGroup[]> {
    const segments = planSegments(query);
    if (segments.length === 1 && segments[0]?.rollup === null) return this.#aggregateRecords(query);
    const { sql, params } = segmentedAggregateSql(query, segments, POSTGRES_DIALECT);
    const result = await this.#pool.query<Record<string, string | null>>(sql, params);
    return result.rows.map((row) => toGroup(row, query));
  }

  async #aggregateRecords(query: UsageQuery): Promise<UsageGroup[]> {
    const fields = groupColumnsOf(query.groupBy);
    const columns = fields.map((field) => SQL_COLUMN[field]);
    const filters = filterConditions(query.where, (n) => `$${n}`, 3);
    const bucket = query.bucketMs
      ? `(floor(extract(epoch FROM started_at) * 1000 / ${checkedBucketMs(query.bucketMs)}) * ${query.bucketMs})::bigint`
      : null;
    const grouping = bucket ? [bucket, ...columns] : columns;
    const result = await this.#pool.query<Record<string, string | null>>(
      `SELECT ${bucket ? `${bucket}::text AS bucket, ` : ''}${columns.join(', ')}, count(*)::text AS requests, coalesce(sum(prompt_tokens), 0)::text AS prompt_tokens,
         coalesce(sum(completion_tokens), 0)::text AS completion_tokens,
         coalesce(sum(cached_prompt_tokens), 0)::text AS cached_prompt_tokens, coalesce(sum(cost_nano_usd), 0)::text AS cost, coalesce(sum(saved_nano_usd), 0)::text AS saved,
         count(*) FILTER (WHERE status >= 400)::text AS errors, coalesce(sum(latency_ms), 0)::text AS latency_sum,
         count(latency_ms)::text AS latency_count, coalesce(sum(feedback_score), 0)::text AS feedback_sum,
         count(feedback_score)::text AS feedback_count
       FROM usage_records
       WHERE started_at >= to_timestamp($1 / 1000.0) AND started_at < to_timestamp($2 / 1000.0)${filters.sql}
       GROUP BY ${grouping.join(', ')}
       ORDER BY ${grouping.join(', ')}`,
      [query.from, query.to, ...filters.params],
    );
    return result.rows.map((row) => toGroup(row, query));
  }

  async feedback(requestId: string, tenant: { org: string; team: string; app: string }, score: number): Promise<boolean> {
    const result = await this.#pool.query(
      'UPDATE usage_records SET feedback_score = $1 WHERE request_id = $2 AND org = $3 AND team = $4 AND app = $5',
      [score, requestId, tenant.org, tenant.team, tenant.app],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async get(requestId: string): Promise<UsageRecord | null> {
    const result = await this.#pool.query<RecordRow>(`SELECT ${SELECT_COLUMNS} FROM usage_records WHERE request_id = $1`, [requestId]);
    return result.rows[0] ? fromRow(result.rows[0]) : null;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
