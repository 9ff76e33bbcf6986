-- User feedback on an answer (POST /v1/feedback): a score in [-1, 1], the last one sent wins; null when none.
ALTER TABLE usage_records ADD COLUMN feedback_score double precision;
