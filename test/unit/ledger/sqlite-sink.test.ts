import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { SqliteSink } from '../../../src/ledger/sqlite-sink.ts';
import { backfillRecords, expectBackfilled, undoRollupsSql } from './rollup-backfill.ts';
import { usageRecord } from './records.ts';
import { sinkContract } from './sink-contract.ts';

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
