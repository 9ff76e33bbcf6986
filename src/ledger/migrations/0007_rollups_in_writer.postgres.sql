-- Nothing for PostgreSQL: its summaries already change once per statement (0006's statement-level triggers over
-- transition tables). The SQLite ledger's 0007 moved its summary upkeep from row triggers into the writer; both
-- dialects keep the same migration numbers.
SELECT 1;
