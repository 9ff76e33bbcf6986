-- The summary tables of 0006 are kept by the ledger's writers from now on (src/ledger/sqlite-summaries.ts) instead of
-- these row triggers (7 upserts per insert, 21 statements per update: the summaries cost 3 to 5 times the record
-- writes themselves). A writer appends its rows' contributions (before, negated, and after the change) to
-- usage_rollup_delta in its own transaction; every ~30,000 of them, and before every read of the summaries, they are
-- summed per summary key and applied, one upsert per key and table. The summary tables and their contents stay as
-- they are; the summaries plus usage_rollup_delta always equal the records.
CREATE TABLE usage_rollup_delta (
  started_at_ms INTEGER NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  app TEXT NOT NULL,
  user_id TEXT,
  feature TEXT,
  model TEXT,
  provider TEXT,
  cache_status TEXT,
  error_code TEXT,
  requests INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_prompt_tokens INTEGER NOT NULL,
  cost_nano_usd INTEGER NOT NULL,
  saved_nano_usd INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  latency_ms_sum REAL NOT NULL,
  latency_count INTEGER NOT NULL,
  feedback_sum REAL NOT NULL,
  feedback_count INTEGER NOT NULL
) STRICT;

DROP TRIGGER usage_rollup_hour_insert;
DROP TRIGGER usage_rollup_hour_update;
DROP TRIGGER usage_rollup_day_app_insert;
DROP TRIGGER usage_rollup_day_app_update;
DROP TRIGGER usage_rollup_day_feature_insert;
DROP TRIGGER usage_rollup_day_feature_update;
DROP TRIGGER usage_rollup_day_user_insert;
DROP TRIGGER usage_rollup_day_user_update;
DROP TRIGGER usage_rollup_day_team_user_insert;
DROP TRIGGER usage_rollup_day_team_user_update;
DROP TRIGGER usage_rollup_day_provider_insert;
DROP TRIGGER usage_rollup_day_provider_update;
DROP TRIGGER usage_rollup_day_outcome_insert;
DROP TRIGGER usage_rollup_day_outcome_update;
