import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../src/ledger/migrations.ts';
import { DAY, HOUR, planSegments, ROLLUPS } from '../../../src/ledger/rollups.ts';

const base = Date.UTC(2026, 0, 10);
const tables = (segments: ReturnType<typeof planSegments>) => segments.map((s) => [s.from - base, s.to - base, s.rollup?.table ?? 'records']);

describe('summary table planning', () => {
  it('reads whole days from a daily summary, whole hours around them hourly, and only the partial hours from the records', () => {
    const query = { from: base + 5 * HOUR + 10, to: base + 3 * DAY + 2 * HOUR + 20, groupBy: 'team' as const, bucketMs: DAY };
    expect(tables(planSegments(query))).toEqual([
      [5 * HOUR + 10, 6 * HOUR, 'records'],
      [6 * HOUR, DAY, 'usage_rollup_hour'],
      [DAY, 3 * DAY, 'usage_rollup_day_app'],
      [3 * DAY, 3 * DAY + 2 * HOUR, 'usage_rollup_hour'],
      [3 * DAY + 2 * HOUR, 3 * DAY + 2 * HOUR + 20, 'records'],
    ]);
  });

  it('picks the narrowest daily summary with every column grouped or filtered on, else the hourly one', () => {
    const range = { from: base, to: base + 2 * DAY };
    expect(tables(planSegments({ ...range, groupBy: 'user' }))).toEqual([[0, 2 * DAY, 'usage_rollup_day_user']]);
    expect(tables(planSegments({ ...range, groupBy: 'user', where: { team: 't' } }))).toEqual([[0, 2 * DAY, 'usage_rollup_day_team_user']]);
    expect(tables(planSegments({ ...range, groupBy: 'feature' }))).toEqual([[0, 2 * DAY, 'usage_rollup_day_feature']]);
    expect(tables(planSegments({ ...range, groupBy: ['team', 'model', 'provider'], where: { model: 'm' } }))).toEqual([[0, 2 * DAY, 'usage_rollup_day_provider']]);
    expect(tables(planSegments({ ...range, groupBy: ['cache_status', 'error_code'], where: { team: 't' } }))).toEqual([[0, 2 * DAY, 'usage_rollup_day_outcome']]);
    // User and model together: only the hourly summary has both.
    expect(tables(planSegments({ ...range, groupBy: 'user', where: { model: 'm' } }))).toEqual([[0, 2 * DAY, 'usage_rollup_hour']]);
  });

  it('falls back to the records for what no summary holds: the variant column, buckets that are not whole hours, a range inside one hour', () => {
    const range = { from: base, to: base + 2 * DAY };
    expect(tables(planSegments({ ...range, groupBy: 'variant' }))).toEqual([[0, 2 * DAY, 'records']]);
    expect(tables(planSegments({ ...range, groupBy: 'team', bucketMs: 60_000 }))).toEqual([[0, 2 * DAY, 'records']]);
    expect(tables(planSegments({ from: base + 10, to: base + HOUR - 10, groupBy: 'team' }))).toEqual([[10, HOUR - 10, 'records']]);
    // Hourly buckets cannot come from daily sums.
    expect(tables(planSegments({ ...range, groupBy: 'team', bucketMs: HOUR }))).toEqual([[0, 2 * DAY, 'usage_rollup_hour']]);
  });

  it('names the tables and columns the migrations create, in both dialects', () => {
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const sql = loadMigrations(dialect).map((m) => m.sql).join('\n');
      for (const rollup of ROLLUPS) {
        const table = new RegExp(`CREATE TABLE ${rollup.table} \\(([^;]*)\\)`, 'i').exec(sql)?.[1] ?? '';
        const columns = table.split('\n').map((line) => line.trim().split(' ')[0]).filter((c) => c && !['bucket_ms', 'dims', 'PRIMARY'].includes(c) && !/requests|tokens|nano|errors|latency|feedback/.test(c));
        expect(columns, `${dialect} ${rollup.table}`).toEqual(rollup.columns);
        expect(sql).toContain(`${rollup.grainMs}) * ${rollup.grainMs}`);
      }
    }
  });
});
