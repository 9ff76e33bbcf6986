-- The summary tables of 0006 are kept by the ledger's writers from now on (src/ledger/sqlite-summaries.ts): one upsert
-- per summary key and table per write transaction, summed over the batch, instead of these row triggers (7 upserts
-- per insert, 21 statements per update: each request's pending and final writes cost three times the record write).
-- The tables and their contents stay as they are.
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
