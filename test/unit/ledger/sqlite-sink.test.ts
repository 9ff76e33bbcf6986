import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { ROLLUPS } from '../../../src/ledger/rollups.ts';
import { SqliteLedger } from '../../../src/ledger/sqlite-ledger.ts';
import { SqliteSink } from '../../../src/ledger/sqlite-sink.ts';
import { restoreRowTriggers } from '../../helpers/rollup-triggers.ts';
import { backfillRecords, expectBackfilled, undoRollupsSql } from './rollup-backfill.ts';
import { pendingOf, usageRecord } from './records.ts';
import { sinkContract } from './sink-contract.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

let dir = '';
let files = 0;
const sinks: SqliteSink[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-sqlite-'));
});
afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
  await rm(dir, { recursive: true, force: true });
});

async function freshSink(path = join(dir, `ledger-${++files}.sqlite`)): Promise<SqliteSink> {
  const sink = new SqliteSink({ path });
  sinks.push(sink);
  await sink.migrate();
  return sink;
}

sinkContract('SQLite', () => freshSink());

describe('SQLite ledger specifics', () => {
  it('keeps the records in the file across a reopen (a restart of the embedded gateway)', async () => {
    const path = join(dir, 'reopen', 'ledger.sqlite');
    const first = await freshSink(path);
    const record = usageRecord({ costNanoUsd: 2n ** 62n });
    await first.write([record]);
    await first.close();
    const second = await freshSink(path);
    expect(await second.get(record.requestId)).toEqual(record);
  });

  it('builds the summary tables from the records already there when it migrates a ledger that had none', async () => {
    const path = join(dir, 'backfill', 'ledger.sqlite');
    const first = await freshSink(path);
    await first.write(backfillRecords());
    await first.close();
    const db = new DatabaseSync(path);
    for (const sql of undoRollupsSql('sqlite')) db.exec(sql);
    db.close();
    await expectBackfilled(await freshSink(path));
  });
});


describe('SQLite summary upkeep in the writer', () => {
  /** The same changes, in the same batches, as the sinks see them: pendings, finals, orphans, late finals, feedback. */
  function workload(ledger: SqliteLedger): void {
    const random = seededRandom(11);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
    const base = Date.UTC(2026, 4, 1);
    const records = Array.from({ length: 400 }, () => {
      const failed = random() < 0.2;
      const record = usageRecord({
        startedAt: base + Math.floor(random() * 3 * 86_400_000), team: pick(['a', 'b']), app: pick(['x', 'y']),
        user: pick([null, 'u1', 'u2']), feature: pick([null, 'f1']), model: pick(['m1', 'm2']),
        provider: failed ? pick([null, 'p1']) : pick(['p1', 'p2']), promptTokens: Math.floor(random() * 1000),
        costNanoUsd: failed ? null : BigInt(Math.floor(random() * 1e9)) * 1_000_000n,
        // Quarter milliseconds: sums of binary fractions are exact in any order.
        latencyMs: pick([null, Math.floor(random() * 4000) / 4]), status: failed ? pick([403, 502]) : 200,
        errorCode: failed ? 'provider_error' : null, cacheStatus: pick([null, 'hit', 'miss']),
      });
      if (record.cacheStatus === 'hit') record.savedNanoUsd = BigInt(Math.floor(random() * 1e6));
      return record;
    });
    for (let i = 0; i < records.length; i += 25) {
      const batch = records.slice(i, i + 25);
      // Pendings of this slice, finals of the previous one, and a few requests whose two entries share a batch.
      ledger.write([...batch.map(pendingOf), ...records.slice(Math.max(0, i - 25), i).filter(() => random() < 0.8), ...batch.filter(() => random() < 0.1)]);
    }
    for (const record of records.slice(0, 60)) expect(ledger.feedback(record.requestId, record, pick([-1, 0.5, 1]))).toBe(true);
    expect(ledger.closeOrphans(base + 86_400_000, base + 4 * 86_400_000).length).toBeGreaterThan(0);
    ledger.write(records.filter((_, i) => i % 3 === 0));
    for (const record of records.slice(30, 90)) ledger.feedback(record.requestId, record, pick([-0.5, 0.25]));
  }

  const readSummaries = (path: string) => {
    const db = new DatabaseSync(path);
    const tables = ROLLUPS.map(({ table }) => {
      const statement = db.prepare(`SELECT * FROM ${table} ORDER BY bucket_ms, dims`);
      statement.setReadBigInts(true);
      return statement.all();
    });
    const triggers = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger'").get()?.n;
    db.close();
    return { tables, triggers };
  };

  it("keeps exactly the summary rows migration 0006's row triggers kept, over pending, final, orphan and feedback changes", () => {
    const triggered = new SqliteLedger(join(dir, 'triggers.sqlite'), { maintainSummaries: false });
    const triggerDb = new DatabaseSync(join(dir, 'triggers.sqlite'));
    restoreRowTriggers(triggerDb);
    triggerDb.close();
    workload(triggered);
    triggered.close();
    const expected = readSummaries(join(dir, 'triggers.sqlite'));
    expect(expected.tables.flat().length).toBeGreaterThan(500);
    // Flushed after every write, every few, and only on close.
    for (const summaryFlushRows of [1, 300, 1_000_000]) {
      const path = join(dir, `writer-${summaryFlushRows}.sqlite`);
      const writer = new SqliteLedger(path, { summaryFlushRows });
      workload(writer);
      writer.close();
      const got = readSummaries(path);
      expect(got.triggers).toBe(0);
      for (const [i, { table }] of ROLLUPS.entries()) expect(got.tables[i], `${table}, flushed every ${summaryFlushRows}`).toEqual(expected.tables[i]);
    }
  });

  it('keeps the captured changes of a ledger that stopped before flushing them (a crash) for the next to apply', () => {
    const path = join(dir, 'crashed.sqlite');
    const crashed = new SqliteLedger(path, { summaryFlushRows: 1_000_000 });
    const at = Date.UTC(2026, 6, 1);
    const records = [usageRecord({ startedAt: at, costNanoUsd: 5n }), usageRecord({ startedAt: at + 1, costNanoUsd: 7n })];
    crashed.write(records.map(pendingOf));
    crashed.write(records);
    // Never closed: its changes are only in usage_rollup_delta. Another ledger on the file reads them in.
    const next = new SqliteLedger(path);
    const query = { from: at - 86_400_000, to: at + 2 * 86_400_000, groupBy: 'team' as const, bucketMs: 86_400_000 };
    expect(next.aggregate(query).map((g) => [g.requests, g.costNanoUsd])).toEqual([[2, 12n]]);
    next.close();
    expect(readSummaries(path).tables[1]).toHaveLength(1);
  });
});
