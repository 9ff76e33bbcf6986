-- Summary tables for the dashboard (issue 15), as in 0006_usage_rollups.sqlite.sql: per-hour sums over every dimension
-- the dashboard groups or filters by, per-day sums over narrower sets. Statement-level triggers with transition tables
-- fold each batch upsert (one statement, src/ledger/postgres-sink.ts) into one upsert per summary table, its keys in
-- a fixed order so concurrent writers lock summary rows in the same order. The query side is src/ledger/rollups.ts.
-- saved_nano_usd: what a cache hit would have cost at the provider (its own cost is 0), for the dashboard's savings.
ALTER TABLE usage_records ADD COLUMN saved_nano_usd bigint;

CREATE TABLE usage_rollup_hour (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  team text NOT NULL,
  app text NOT NULL,
  user_id text,
  feature text,
  model text,
  provider text,
  cache_status text,
  error_code text,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE TABLE usage_rollup_day_app (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  team text NOT NULL,
  app text NOT NULL,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE TABLE usage_rollup_day_feature (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  team text NOT NULL,
  feature text,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE TABLE usage_rollup_day_user (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  user_id text,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE TABLE usage_rollup_day_team_user (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  team text NOT NULL,
  user_id text,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE TABLE usage_rollup_day_provider (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  team text NOT NULL,
  model text,
  provider text,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE TABLE usage_rollup_day_outcome (
  bucket_ms bigint NOT NULL,
  dims text NOT NULL,
  org text NOT NULL,
  team text NOT NULL,
  model text,
  cache_status text,
  error_code text,
  requests bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_prompt_tokens bigint NOT NULL DEFAULT 0,
  cost_nano_usd numeric NOT NULL DEFAULT 0,
  saved_nano_usd numeric NOT NULL DEFAULT 0,
  errors bigint NOT NULL DEFAULT 0,
  latency_ms_sum double precision NOT NULL DEFAULT 0,
  latency_count bigint NOT NULL DEFAULT 0,
  feedback_sum double precision NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_ms, dims)
);

CREATE FUNCTION usage_rollups_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_rollup_hour AS t (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 3600000) * 3600000)::bigint, jsonb_build_array(r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code)::text, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  INSERT INTO usage_rollup_day_app AS t (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.app)::text, r.org, r.team, r.app, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.team, r.app ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  INSERT INTO usage_rollup_day_feature AS t (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.feature)::text, r.org, r.team, r.feature, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.team, r.feature ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  INSERT INTO usage_rollup_day_user AS t (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.user_id)::text, r.org, r.user_id, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.user_id ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  INSERT INTO usage_rollup_day_team_user AS t (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.user_id)::text, r.org, r.team, r.user_id, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.team, r.user_id ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  INSERT INTO usage_rollup_day_provider AS t (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.model, r.provider)::text, r.org, r.team, r.model, r.provider, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.team, r.model, r.provider ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  INSERT INTO usage_rollup_day_outcome AS t (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.model, r.cache_status, r.error_code)::text, r.org, r.team, r.model, r.cache_status, r.error_code, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n) r GROUP BY 1, r.org, r.team, r.model, r.cache_status, r.error_code ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  RETURN NULL;
END;
$$;

CREATE FUNCTION usage_rollups_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_rollup_hour AS t (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 3600000) * 3600000)::bigint, jsonb_build_array(r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code)::text, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_hour WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 3600000) * 3600000)::bigint, jsonb_build_array(o.org, o.team, o.app, o.user_id, o.feature, o.model, o.provider, o.cache_status, o.error_code)::text FROM old_rows o);
  INSERT INTO usage_rollup_day_app AS t (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.app)::text, r.org, r.team, r.app, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.team, r.app ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_day_app WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(o.org, o.team, o.app)::text FROM old_rows o);
  INSERT INTO usage_rollup_day_feature AS t (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.feature)::text, r.org, r.team, r.feature, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.team, r.feature ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_day_feature WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(o.org, o.team, o.feature)::text FROM old_rows o);
  INSERT INTO usage_rollup_day_user AS t (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.user_id)::text, r.org, r.user_id, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.user_id ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_day_user WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(o.org, o.user_id)::text FROM old_rows o);
  INSERT INTO usage_rollup_day_team_user AS t (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.user_id)::text, r.org, r.team, r.user_id, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.team, r.user_id ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_day_team_user WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(o.org, o.team, o.user_id)::text FROM old_rows o);
  INSERT INTO usage_rollup_day_provider AS t (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.model, r.provider)::text, r.org, r.team, r.model, r.provider, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.team, r.model, r.provider ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_day_provider WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(o.org, o.team, o.model, o.provider)::text FROM old_rows o);
  INSERT INTO usage_rollup_day_outcome AS t (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.model, r.cache_status, r.error_code)::text, r.org, r.team, r.model, r.cache_status, r.error_code, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) r GROUP BY 1, r.org, r.team, r.model, r.cache_status, r.error_code ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
  DELETE FROM usage_rollup_day_outcome WHERE requests = 0 AND (bucket_ms, dims) IN (SELECT (floor(extract(epoch FROM o.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(o.org, o.team, o.model, o.cache_status, o.error_code)::text FROM old_rows o);
  RETURN NULL;
END;
$$;

CREATE TRIGGER usage_rollups_insert AFTER INSERT ON usage_records REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_insert();

CREATE TRIGGER usage_rollups_update AFTER UPDATE ON usage_records REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_update();

-- Backfill from the records already there.

  INSERT INTO usage_rollup_hour AS t (bucket_ms, dims, org, team, app, user_id, feature, model, provider, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 3600000) * 3600000)::bigint, jsonb_build_array(r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code)::text, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.team, r.app, r.user_id, r.feature, r.model, r.provider, r.cache_status, r.error_code ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;

  INSERT INTO usage_rollup_day_app AS t (bucket_ms, dims, org, team, app, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.app)::text, r.org, r.team, r.app, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.team, r.app ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;

  INSERT INTO usage_rollup_day_feature AS t (bucket_ms, dims, org, team, feature, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.feature)::text, r.org, r.team, r.feature, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.team, r.feature ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;

  INSERT INTO usage_rollup_day_user AS t (bucket_ms, dims, org, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.user_id)::text, r.org, r.user_id, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.user_id ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;

  INSERT INTO usage_rollup_day_team_user AS t (bucket_ms, dims, org, team, user_id, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.user_id)::text, r.org, r.team, r.user_id, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.team, r.user_id ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;

  INSERT INTO usage_rollup_day_provider AS t (bucket_ms, dims, org, team, model, provider, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.model, r.provider)::text, r.org, r.team, r.model, r.provider, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.team, r.model, r.provider ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;

  INSERT INTO usage_rollup_day_outcome AS t (bucket_ms, dims, org, team, model, cache_status, error_code, requests, prompt_tokens, completion_tokens, cached_prompt_tokens, cost_nano_usd, saved_nano_usd, errors, latency_ms_sum, latency_count, feedback_sum, feedback_count)
  SELECT (floor(extract(epoch FROM r.started_at) * 1000 / 86400000) * 86400000)::bigint, jsonb_build_array(r.org, r.team, r.model, r.cache_status, r.error_code)::text, r.org, r.team, r.model, r.cache_status, r.error_code, sum(r.sign * 1), sum(r.sign * r.prompt_tokens), sum(r.sign * r.completion_tokens), sum(r.sign * r.cached_prompt_tokens), sum(r.sign * coalesce(r.cost_nano_usd, 0)), sum(r.sign * coalesce(r.saved_nano_usd, 0)), sum(r.sign * CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), sum(r.sign * coalesce(r.latency_ms, 0)), sum(r.sign * CASE WHEN r.latency_ms IS NULL THEN 0 ELSE 1 END), sum(r.sign * coalesce(r.feedback_score, 0)), sum(r.sign * CASE WHEN r.feedback_score IS NULL THEN 0 ELSE 1 END)
  FROM (SELECT u.*, 1 AS sign FROM usage_records u) r GROUP BY 1, r.org, r.team, r.model, r.cache_status, r.error_code ORDER BY 1, 2
  ON CONFLICT (bucket_ms, dims) DO UPDATE SET requests = t.requests + EXCLUDED.requests, prompt_tokens = t.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = t.completion_tokens + EXCLUDED.completion_tokens, cached_prompt_tokens = t.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens, cost_nano_usd = t.cost_nano_usd + EXCLUDED.cost_nano_usd, saved_nano_usd = t.saved_nano_usd + EXCLUDED.saved_nano_usd, errors = t.errors + EXCLUDED.errors, latency_ms_sum = t.latency_ms_sum + EXCLUDED.latency_ms_sum, latency_count = t.latency_count + EXCLUDED.latency_count, feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum, feedback_count = t.feedback_count + EXCLUDED.feedback_count;
