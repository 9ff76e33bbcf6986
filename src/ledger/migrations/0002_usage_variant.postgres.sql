-- A/B tests (models with `variants`): the variant each request was assigned to; null for other models.
ALTER TABLE usage_records ADD COLUMN variant text;
