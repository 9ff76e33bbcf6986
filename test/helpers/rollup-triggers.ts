import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';

const MIGRATION_0006 = join(import.meta.dirname, '../../src/ledger/migrations/0006_usage_rollups.sqlite.sql');

/**
 * Puts back the row triggers that kept the SQLite summary tables before migration 0007, from migration 0006 itself:
 * what the writer's summary upkeep is compared with (a test, and the write benchmark's "before"). Use it on a ledger
 * opened with maintainSummaries: false, or the summaries count every change twice.
 */
export function restoreRowTriggers(db: DatabaseSync): void {
  const sql = readFileSync(MIGRATION_0006, 'utf8');
  const triggers = sql.match(/CREATE TRIGGER [\s\S]*?\nEND;/g) ?? [];
  if (triggers.length !== 14) throw new Error(`expected 14 triggers in 0006, found ${triggers.length}`);
  for (const trigger of triggers) db.exec(trigger);
}
