import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BatchWriter } from '../../../src/ledger/batch-writer.ts';
import { JsonlExporter } from '../../../src/ledger/jsonl-exporter.ts';
import { PostgresSink } from '../../../src/ledger/postgres-sink.ts';
import { RedisStreamQueue } from '../../../src/ledger/redis-stream-queue.ts';
import type { LedgerSink } from '../../../src/ledger/sink.ts';
import { encodeRecord, type UsageRecord } from '../../../src/ledger/usage-record.ts';
import { usePostgresServer } from '../../helpers/postgres-server.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';
import { pendingOf, usageRecord } from './records.ts';

const redis = useRedisServer();
const postgres = usePostgresServer();
const logger = pino({ level: process.env.TOLLGATE_TEST_LOG ?? 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
let databases = 0;
let streams = 0;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshSink(): Promise<PostgresSink> {
  const sink = new PostgresSink({ url: await postgres.server.createDatabase(`queue_${++databases}`) });
  await sink.migrate();
  cleanups.push(() => sink.close());
  return sink;
}

function streamKey(): string {
  return `tollgate:{ledger}:test-${++streams}`;
}

function newQueue(stream: string, claimIdleMs = 30_000): RedisStreamQueue {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  const queue = new RedisStreamQueue({ client, stream, group: 'ledger', claimIdleMs });
  cleanups.push(async () => {
    await queue.close();
    client.disconnect();
  });
  return queue;
}

function startWriter(queue: RedisStreamQueue, sink: LedgerSink, onCommitted?: (records: UsageRecord[]) => Promise<void> | void): BatchWriter {
  const writer = new BatchWriter({ queue, sink, batchSize: 100, flushIntervalMs: 50, logger, onCommitted });
  writer.start();
  cleanups.push(() => writer.stop());
  return writer;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const everything = { groupBy: 'org' as const, from: 0, to: Date.UTC(2030, 0, 1) };

describe('Redis Stream queue + batch writer → PostgreSQL', () => {
  it('moves entries to the database in batches and deletes them from the stream only after the commit', async () => {
    const stream = streamKey();
    const sink = await freshSink();
    const queue = newQueue(stream);
    const records = Array.from({ length: 250 }, (_, i) => usageRecord({ costNanoUsd: BigInt(i) }));
    for (const record of records) await queue.enqueue(pendingOf(record));
    await Promise.all(records.map((record) => queue.enqueue(record)));
    startWriter(queue, sink);
    const total = BigInt((249 * 250) / 2);
    const [group] = await eventually(() => sink.aggregate(everything), (groups) => groups[0]?.costNanoUsd === total);
    expect(group?.requests).toBe(250);
    expect(group?.costNanoUsd).toBe(BigInt((249 * 250) / 2));
    expect(await eventually(() => redis.admin.xlen(stream), (length) => length === 0)).toBe(0);
    for (const record of records.slice(0, 5)) expect(await sink.get(record.requestId)).toEqual(record);
  });

  it('a reader that dies before its commit loses nothing: another process claims its entries and writes them once', async () => {
    const stream = streamKey();
    const sink = await freshSink();
    const dying = newQueue(stream, 300);
    const records = Array.from({ length: 40 }, () => usageRecord());
    for (const record of records) await dying.enqueue(record);
    // Read (now in the group's pending list under the dying consumer), never committed nor acked.
    expect(await dying.read(100, 100)).toHaveLength(40);
    await dying.close();
    const pending = (await redis.admin.xpending(stream, 'ledger')) as [number, ...unknown[]];
    expect(pending[0]).toBe(40);

    const survivor = newQueue(stream, 300);
    startWriter(survivor, sink);
    const [group] = await eventually(() => sink.aggregate(everything), (groups) => groups[0]?.requests === 40);
    expect(group?.requests).toBe(40);
    expect(await eventually(async () => ((await redis.admin.xpending(stream, 'ledger')) as [number])[0], (n) => n === 0)).toBe(0);
  });

  it('a replayed entry (the same record queued again, e.g. after a retry) never counts twice', async () => {
    const stream = streamKey();
    const sink = await freshSink();
    const queue = newQueue(stream);
    const exported: UsageRecord[] = [];
    startWriter(queue, sink, (changed) => void exported.push(...changed));
    const records = Array.from({ length: 30 }, (_, i) => usageRecord({ costNanoUsd: 1_000_000n + BigInt(i) }));
    for (const record of records) await queue.enqueue(record);
    await eventually(() => sink.aggregate(everything), (groups) => groups[0]?.requests === 30);
    // Replays: raw XADDs of the very same payloads, and late pending entries.
    for (const record of records) await redis.admin.xadd(stream, '*', 'r', encodeRecord(record));
    for (const record of records) await queue.enqueue(pendingOf(record));
    await eventually(() => redis.admin.xlen(stream), (length) => length === 0);
    const [group] = await sink.aggregate(everything);
    expect(group?.requests).toBe(30);
    expect(group?.costNanoUsd).toBe(30_000_000n + BigInt((29 * 30) / 2));
    expect(exported.map((r) => r.requestId).sort()).toEqual(records.map((r) => r.requestId).sort());
  });

  it('keeps entries unacked while the database fails, and writes them when it is back', async () => {
    const stream = streamKey();
    const real = await freshSink();
    let failuresLeft = 3;
    // The real sink with a fault injected in front of its first writes (the database refusing commits).
    const flaky: LedgerSink = Object.assign(Object.create(real) as LedgerSink, {
      write: async (records: readonly UsageRecord[]) => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('connection terminated');
        }
        return real.write(records);
      },
    });
    const queue = newQueue(stream);
    for (let i = 0; i < 10; i += 1) await queue.enqueue(usageRecord());
    startWriter(queue, flaky);
    await eventually(async () => failuresLeft, (left) => left < 3);
    expect(await redis.admin.xlen(stream)).toBe(10);
    const [group] = await eventually(() => real.aggregate(everything), (groups) => groups[0]?.requests === 10);
    expect(group?.requests).toBe(10);
    expect(failuresLeft).toBe(0);
    expect(await eventually(() => redis.admin.xlen(stream), (length) => length === 0)).toBe(0);
  });

  it('exports committed records to rotated JSONL files, each line a whole record', async () => {
    const stream = streamKey();
    const sink = await freshSink();
    const queue = newQueue(stream);
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-export-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const exporter = new JsonlExporter({ dir, rotateBytes: 4096 });
    startWriter(queue, sink, (records) => exporter.append(records));
    const records = Array.from({ length: 60 }, (_, i) => usageRecord({ costNanoUsd: 123_456_789n * BigInt(i) }));
    // Six batches of ten (~6 KiB each): a file is closed after the append that takes it past 4 KiB.
    for (let wave = 0; wave < 6; wave += 1) {
      for (const record of records.slice(wave * 10, wave * 10 + 10)) await queue.enqueue(record);
      await eventually(() => sink.aggregate(everything), (groups) => groups[0]?.requests === wave * 10 + 10);
    }
    const closed = await eventually(() => readdir(dir), (files) => files.filter((f) => f.endsWith('.jsonl')).length === 6);
    expect(closed.filter((f) => f.endsWith('.jsonl'))).toHaveLength(6);
    await exporter.rotate();
    const files = (await readdir(dir)).sort();
    expect(files.every((file) => file.endsWith('.jsonl'))).toBe(true);
    const lines = (await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8'))))
      .flatMap((text) => text.split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(60);
    const byId = new Map(lines.map((line) => [line.request_id, line]));
    const sample = records[7] as UsageRecord;
    expect(byId.get(sample.requestId)).toMatchObject({
      state: 'final', org: 'acme', team: 'platform', cost_nano_usd: '864197523', cost_usd: '0.864197523',
      started_at: new Date(sample.startedAt).toISOString(), attempts: sample.attempts,
    });
  });
});
