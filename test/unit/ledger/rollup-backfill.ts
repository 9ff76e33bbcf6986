import { expect } from 'vitest';
import { ROLLUPS } from '../../../src/ledger/rollups.ts';
import type { LedgerSink } from '../../../src/ledger/sink.ts';
import { usageRecord } from './records.ts';

/**
 * Takes migration 0006 (the summary tables) and those after it back out of a ledger, as if it had been written by a
 * Tollgate before them: the next migrate must then build the summaries from the records already there. (SQLite's
 * 0007 dropped 0006's triggers: they are gone, and 0007 must run again after 0006 recreates them.)
 */
export function undoRollupsSql(dialect: 'sqlite' | 'postgres'): string[] {
  const triggers = dialect === 'sqlite'
    ? ROLLUPS.flatMap((r) => [`DROP TRIGGER IF EXISTS ${r.table}_insert`, `DROP TRIGGER IF EXISTS ${r.table}_update`])
    : ['DROP TRIGGER usage_rollups_insert ON usage_records', 'DROP TRIGGER usage_rollups_update ON usage_records', 'DROP FUNCTION usage_rollups_insert', 'DROP FUNCTION usage_rollups_update'];
  return [
    ...triggers,
    ...ROLLUPS.map((r) => `DROP TABLE ${r.table}`),
    ...(dialect === 'sqlite' ? ['DROP TABLE IF EXISTS usage_rollup_delta'] : []),
    'ALTER TABLE usage_records DROP COLUMN saved_nano_usd',
    "DELETE FROM ledger_migrations WHERE version >= '0006'",
  ];
}

const DAY = 86_400_000;
const base = Date.UTC(2026, 3, 1);

export const backfillRecords = () => Array.from({ length: 40 }, (_, i) => usageRecord({
  startedAt: base + i * (DAY / 8) + 1234, team: i % 3 ? 'a' : 'b', user: i % 2 ? 'u1' : null, costNanoUsd: BigInt(i + 1) * 1000n,
}));

/** The summaries built by the migration answer what the records sum to (whole days read from them). */
export async function expectBackfilled(sink: LedgerSink): Promise<void> {
  const query = { from: base, to: base + 5 * DAY, groupBy: 'team' as const, bucketMs: DAY };
  const groups = await sink.aggregate(query);
  expect(groups.reduce((n, g) => n + g.requests, 0)).toBe(40);
  expect(groups.reduce((n, g) => n + g.costNanoUsd, 0n)).toBe(820_000n);
  expect(groups.filter((g) => g.key.team === 'b').reduce((n, g) => n + g.requests, 0)).toBe(14);
  // And the summaries keep up with what is written afterwards.
  await sink.write([usageRecord({ startedAt: base + DAY + 5, team: 'b', costNanoUsd: 1n })]);
  const after = await sink.aggregate(query);
  expect(after.find((g) => g.key.team === 'b' && g.bucket === base + DAY)?.costNanoUsd).toBe(
    (groups.find((g) => g.key.team === 'b' && g.bucket === base + DAY)?.costNanoUsd ?? 0n) + 1n);
}
