-- One row per client request (see src/ledger/usage-record.ts). state_rank only ever grows: pending (0) →
-- orphaned (1) → final (2); every write is an upsert that checks it, which makes replays harmless.
CREATE TABLE usage_records (
  request_id           text PRIMARY KEY,
  state                text NOT NULL CHECK (state IN ('pending', 'orphaned', 'final')),
  state_rank           smallint NOT NULL,
  started_at           timestamptz NOT NULL,
  ended_at             timestamptz,
  org                  text NOT NULL,
  team                 text NOT NULL,
  app                  text NOT NULL,
  user_id              text,
  feature              text,
  key_id               text NOT NULL,
  endpoint             text,
  model                text,
  provider             text,
  upstream_model       text,
  attempts             jsonb NOT NULL DEFAULT '[]'::jsonb,
  stream               boolean NOT NULL DEFAULT false,
  prompt_tokens        bigint NOT NULL DEFAULT 0,
  completion_tokens    bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cache_write_tokens   bigint NOT NULL DEFAULT 0,
  -- Integer nano-USD: exact sums (sum(bigint) is numeric in PostgreSQL, so no overflow either).
  cost_nano_usd        bigint,
  pricing_id           text,
  latency_ms           double precision,
  status               integer,
  outcome              text NOT NULL,
  error_code           text,
  cache_status         text,
  written_at           timestamptz NOT NULL DEFAULT now()
);

-- Aggregations and budget rebuilds select by period.
CREATE INDEX usage_records_started_at ON usage_records (started_at);
-- The reconciler looks only at open rows.
CREATE INDEX usage_records_open ON usage_records (started_at) WHERE state = 'pending';
