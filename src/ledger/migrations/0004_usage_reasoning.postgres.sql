-- Of the completion tokens, those the model spent reasoning (OpenAI reasoning_tokens, Gemini thoughtsTokenCount).
ALTER TABLE usage_records ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0;
