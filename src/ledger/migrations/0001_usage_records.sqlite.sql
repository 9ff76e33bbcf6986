-- The same table as 0001_usage_records.postgres.sql for the embedded SQLite ledger: times are epoch milliseconds,
-- attempts JSON text, booleans 0/1.
CREATE TABLE usage_records (
  request_id           TEXT PRIMARY KEY,
  state                TEXT NOT NULL CHECK (state IN ('pending', 'orphaned', 'final')),
  state_rank           INTEGER NOT NULL,
  started_at_ms        INTEGER NOT NULL,
  ended_at_ms          INTEGER,
  org                  TEXT NOT NULL,
  team                 TEXT NOT NULL,
  app                  TEXT NOT NULL,
  user_id              TEXT,
  feature              TEXT,
  key_id               TEXT NOT NULL,
  endpoint             TEXT,
  model                TEXT,
  provider             TEXT,
  upstream_model       TEXT,
  attempts             TEXT NOT NULL DEFAULT '[]',
  stream               INTEGER NOT NULL DEFAULT 0,
  prompt_tokens        INTEGER NOT NULL DEFAULT 0,
  completion_tokens    INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens   INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd        INTEGER,
  pricing_id           TEXT,
  latency_ms           REAL,
  status               INTEGER,
  outcome              TEXT NOT NULL,
  error_code           TEXT,
  cache_status         TEXT,
  written_at_ms        INTEGER NOT NULL
) STRICT;

CREATE INDEX usage_records_started_at ON usage_records (started_at_ms);
CREATE INDEX usage_records_open ON usage_records (started_at_ms) WHERE state = 'pending';
