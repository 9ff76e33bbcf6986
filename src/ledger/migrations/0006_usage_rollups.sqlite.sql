-- Summary tables for the dashboard (issue 15): per-hour sums over every dimension the dashboard groups or filters by,
-- and per-day sums over the narrower dimension sets its queries use (spend by team and app, by feature, by user, by
-- provider, by cache and error outcome), so a view over weeks reads a few thousand summary rows instead of every usage
-- record. Triggers keep them equal to usage_records on every insert and update (an update, e.g. pending
-- to final or a feedback score, takes the old row's contribution out and puts the new one in); the sums are exact
-- (integers), so the dashboard's totals still equal the ledger's. The query side is src/ledger/rollups.ts.
-- WITHOUT ROWID: each table is stored in its key's order, so a time range is one contiguous read, not a lookup per row.
-- saved_nano_usd: what a cache hit would have cost at the provider (its own cost is 0), for the dashboard's savings.
ALTER TABLE usage_records ADD COLUMN saved_nano_usd INTEGER;

CREATE TABLE usage_rollup_hour (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  app TEXT NOT NULL,
  user_id TEXT,
  feature TEXT,
  model TEXT,
  provider TEXT,
  cache_status TEXT,
  error_code TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_rollup_day_app (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  app TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_rollup_day_feature (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  feature TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_rollup_day_user (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  user_id TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_rollup_day_team_user (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  user_id TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_rollup_day_provider (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  model TEXT,
  provider TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_rollup_day_outcome (
  bucket_ms INTEGER NOT NULL,
  dims TEXT NOT NULL,
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  model TEXT,
  cache_status TEXT,
  error_code TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nano_usd INTEGER NOT NULL DEFAULT 0,
  saved_nano_usd INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  latency_ms_sum REAL NOT NULL DEFAULT 0,
  latency_count INTEGER NOT NULL DEFAULT 0,
  feedback_sum REAL NOT NULL DEFAULT 0,
  feedback_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER usage_rollup_hour_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_hour (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 3600000) * 3600000, json_array(NEW.org, NEW.team, NEW.app, NEW.user_id, NEW.feature, NEW.model, NEW.provider, NEW.cache_status, NEW.error_code), NEW.org, NEW.team, NEW.app, NEW.user_id, NEW.feature, NEW.model, NEW.provider, NEW.cache_status, NEW.error_code, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_hour_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_hour (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 3600000) * 3600000, json_array(OLD.org, OLD.team, OLD.app, OLD.user_id, OLD.feature, OLD.model, OLD.provider, OLD.cache_status, OLD.error_code), OLD.org, OLD.team, OLD.app, OLD.user_id, OLD.feature, OLD.model, OLD.provider, OLD.cache_status, OLD.error_code, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_hour (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 3600000) * 3600000, json_array(NEW.org, NEW.team, NEW.app, NEW.user_id, NEW.feature, NEW.model, NEW.provider, NEW.cache_status, NEW.error_code), NEW.org, NEW.team, NEW.app, NEW.user_id, NEW.feature, NEW.model, NEW.provider, NEW.cache_status, NEW.error_code, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_hour WHERE bucket_ms = (OLD.started_at_ms / 3600000) * 3600000 AND dims = json_array(OLD.org, OLD.team, OLD.app, OLD.user_id, OLD.feature, OLD.model, OLD.provider, OLD.cache_status, OLD.error_code) AND requests = 0;
END;

CREATE TRIGGER usage_rollup_day_app_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_day_app (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.app), NEW.org, NEW.team, NEW.app, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_day_app_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_day_app (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 86400000) * 86400000, json_array(OLD.org, OLD.team, OLD.app), OLD.org, OLD.team, OLD.app, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_day_app (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.app), NEW.org, NEW.team, NEW.app, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_day_app WHERE bucket_ms = (OLD.started_at_ms / 86400000) * 86400000 AND dims = json_array(OLD.org, OLD.team, OLD.app) AND requests = 0;
END;

CREATE TRIGGER usage_rollup_day_feature_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_day_feature (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.feature), NEW.org, NEW.team, NEW.feature, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_day_feature_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_day_feature (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 86400000) * 86400000, json_array(OLD.org, OLD.team, OLD.feature), OLD.org, OLD.team, OLD.feature, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_day_feature (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.feature), NEW.org, NEW.team, NEW.feature, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_day_feature WHERE bucket_ms = (OLD.started_at_ms / 86400000) * 86400000 AND dims = json_array(OLD.org, OLD.team, OLD.feature) AND requests = 0;
END;

CREATE TRIGGER usage_rollup_day_user_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_day_user (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.user_id), NEW.org, NEW.user_id, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_day_user_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_day_user (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 86400000) * 86400000, json_array(OLD.org, OLD.user_id), OLD.org, OLD.user_id, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_day_user (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.user_id), NEW.org, NEW.user_id, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_day_user WHERE bucket_ms = (OLD.started_at_ms / 86400000) * 86400000 AND dims = json_array(OLD.org, OLD.user_id) AND requests = 0;
END;

CREATE TRIGGER usage_rollup_day_team_user_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_day_team_user (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.user_id), NEW.org, NEW.team, NEW.user_id, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_day_team_user_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_day_team_user (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 86400000) * 86400000, json_array(OLD.org, OLD.team, OLD.user_id), OLD.org, OLD.team, OLD.user_id, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_day_team_user (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.user_id), NEW.org, NEW.team, NEW.user_id, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_day_team_user WHERE bucket_ms = (OLD.started_at_ms / 86400000) * 86400000 AND dims = json_array(OLD.org, OLD.team, OLD.user_id) AND requests = 0;
END;

CREATE TRIGGER usage_rollup_day_provider_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_day_provider (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.model, NEW.provider), NEW.org, NEW.team, NEW.model, NEW.provider, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_day_provider_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_day_provider (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 86400000) * 86400000, json_array(OLD.org, OLD.team, OLD.model, OLD.provider), OLD.org, OLD.team, OLD.model, OLD.provider, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_day_provider (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.model, NEW.provider), NEW.org, NEW.team, NEW.model, NEW.provider, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_day_provider WHERE bucket_ms = (OLD.started_at_ms / 86400000) * 86400000 AND dims = json_array(OLD.org, OLD.team, OLD.model, OLD.provider) AND requests = 0;
END;

CREATE TRIGGER usage_rollup_day_outcome_insert AFTER INSERT ON usage_records BEGIN
  INSERT INTO usage_rollup_day_outcome (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.model, NEW.cache_status, NEW.error_code), NEW.org, NEW.team, NEW.model, NEW.cache_status, NEW.error_code, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
END;

CREATE TRIGGER usage_rollup_day_outcome_update AFTER UPDATE ON usage_records BEGIN
  INSERT INTO usage_rollup_day_outcome (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((OLD.started_at_ms / 86400000) * 86400000, json_array(OLD.org, OLD.team, OLD.model, OLD.cache_status, OLD.error_code), OLD.org, OLD.team, OLD.model, OLD.cache_status, OLD.error_code, -(1), -(OLD.prompt_tokens), -(OLD.completion_tokens), -(OLD.cached_prompt_tokens), -(coalesce(OLD.cost_nano_usd, 0)), -(coalesce(OLD.saved_nano_usd, 0)), -(CASE WHEN OLD.status >= 400 THEN 1 ELSE 0 END), -(coalesce(OLD.latency_ms, 0)), -(CASE WHEN OLD.latency_ms IS NULL THEN 0 ELSE 1 END), -(coalesce(OLD.feedback_score, 0)), -(CASE WHEN OLD.feedback_score IS NULL THEN 0 ELSE 1 END))
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  INSERT INTO usage_rollup_day_outcome (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  VALUES ((NEW.started_at_ms / 86400000) * 86400000, json_array(NEW.org, NEW.team, NEW.model, NEW.cache_status, NEW.error_code), NEW.org, NEW.team, NEW.model, NEW.cache_status, NEW.error_code, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.cached_prompt_tokens, coalesce(NEW.cost_nano_usd, 0), coalesce(NEW.saved_nano_usd, 0), CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END, coalesce(NEW.latency_ms, 0), CASE WHEN NEW.latency_ms IS NULL THEN 0 ELSE 1 END, coalesce(NEW.feedback_score, 0), CASE WHEN NEW.feedback_score IS NULL THEN 0 ELSE 1 END)
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens, cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens, cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, saved_nano_usd = saved_nano_usd + excluded.saved_nano_usd, errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count, feedback_sum = feedback_sum + excluded.feedback_sum, feedback_count = feedback_count + excluded.feedback_count;
  DELETE FROM usage_rollup_day_outcome WHERE bucket_ms = (OLD.started_at_ms / 86400000) * 86400000 AND dims = json_array(OLD.org, OLD.team, OLD.model, OLD.cache_status, OLD.error_code) AND requests = 0;
END;

-- Backfill from the records already there.

INSERT INTO usage_rollup_hour (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 3600000) * 3600000, json_array(r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code), r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code;

INSERT INTO usage_rollup_day_app (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 86400000) * 86400000, json_array(r.org, r.team, r.app), r.org, r.team, r.app, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.team, r.app;

INSERT INTO usage_rollup_day_feature (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 86400000) * 86400000, json_array(r.org, r.team, r.feature), r.org, r.team, r.feature, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.team, r.feature;

INSERT INTO usage_rollup_day_user (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 86400000) * 86400000, json_array(r.org, r.user_id), r.org, r.user_id, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.user_id;

INSERT INTO usage_rollup_day_team_user (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 86400000) * 86400000, json_array(r.org, r.team, r.user_id), r.org, r.team, r.user_id, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.team, r.user_id;

INSERT INTO usage_rollup_day_provider (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 86400000) * 86400000, json_array(r.org, r.team, r.model, r.provider), r.org, r.team, r.model, r.provider, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.team, r.model, r.provider;

INSERT INTO usage_rollup_day_outcome (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
SELECT (r.started_at_ms / 86400000) * 86400000, json_array(r.org, r.team, r.model, r.cache_status, r.error_code), r.org, r.team, r.model, r.cache_status, r.error_code, sum(1), sum(r.prompt_tokens), sum(r.completion_tokens), sum(r.cached_prompt_tokens), sum(coalesce(r.cost_nano_usd, 0)), sum(coalesce(r.saved_nano_usd, 0)), sum(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(coalesce(r.latency_ms, 0)), sum(CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(coalesce(r.feedback_score, 0)), sum(CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
FROM usage_records r GROUP BY 1, r.org, r.team, r.model, r.cache_status, r.error_code;
