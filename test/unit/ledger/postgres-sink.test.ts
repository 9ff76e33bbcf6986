import { afterAll } from 'vitest';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresSink } from '../../../src/ledger/postgres-sink.ts';
import { backfillRecords, expectBackfilled, undoRollupsSql } from './rollup-backfill.ts';
import { usePostgresServer } from '../../helpers/postgres-server.ts';
import { usageRecord } from './records.ts';
import { sinkContract } from './sink-contract.ts';

const postgres = usePostgresServer();
const sinks: PostgresSink[] = [];
let databases = 0;

async function freshSink(): Promise<PostgresSink> {
  const url = await postgres.server.createDatabase(`ledger_${++databases}`);
  const sink = new PostgresSink({ url });
  sinks.push(sink);
  await sink.migrate();
  return sink;
}

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
});

sinkContract('PostgreSQL', freshSink);

describe('PostgreSQL ledger specifics', () => {
  it('lets several processes migrate one database at the same time (advisory lock)', async () => {
    const url = await postgres.server.createDatabase(`ledger_${++databases}`);
    const racers = Array.from({ length: 4 }, () => new PostgresSink({ url }));
    sinks.push(...racers);
    await Promise.all(racers.map((sink) => sink.migrate()));
    const record = usageRecord();
    await racers[0]?.write([record]);
    expect(await racers[3]?.get(record.requestId)).toEqual(record);
  });

  it('writes a batch of 2,000 in one statement, and concurrent writers of the same entries count each once', async () => {
    const sink = await freshSink();
    const records = Array.from({ length: 2000 }, (_, i) => usageRecord({ costNanoUsd: BigInt(i + 1) }));
    const results = await Promise.all([sink.write(records), sink.write(records), sink.write(records.slice(0, 1000))]);
    expect(results.reduce((sum, changed) => sum + changed.length, 0)).toBe(2000);
    const [group] = await sink.aggregate({ groupBy: 'org', from: 0, to: Date.UTC(2030, 0, 1) });
    expect(group?.requests).toBe(2000);
    expect(group?.costNanoUsd).toBe(BigInt((2000 * 2001) / 2));
  });

  it('builds the summary tables from the records already there when it migrates a ledger that had none', async () => {
    const url = await postgres.server.createDatabase(`ledger_${++databases}`);
    const first = new PostgresSink({ url });
    sinks.push(first);
    await first.migrate();
    await first.write(backfillRecords());
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const sql of undoRollupsSql('postgres')) await client.query(sql);
    } finally {
      await client.end();
    }
    const second = new PostgresSink({ url });
    sinks.push(second);
    await second.migrate();
    await expectBackfilled(second);
  });
});
