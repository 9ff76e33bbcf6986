-- The request's OpenTelemetry trace id (config `tracing`), to go from a usage record to its trace; null untraced.
ALTER TABLE usage_records ADD COLUMN trace_id text;
