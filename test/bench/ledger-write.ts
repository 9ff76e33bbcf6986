/**
 * What the SQLite ledger's summary tables cost on the write path: records per second and CPU per record written
 * through the real SqliteSink (its worker thread), in batches as at 500 requests/s with 50 ms flushes: each batch the
 * pending entries of 25 new requests and the final entries of 25 admitted 2 s (40 batches) earlier. Three ledgers,
 * the same batches, into a copy of one prefilled file each run, interleaved over several rounds, for two shapes of
 * data (SHAPES):
 *   baseline — no summary upkeep at all (the tables go stale): what the record writes alone cost;
 *   triggers — migration 0006's row triggers (7 upserts per insert, 21 statements per update), put back;
 *   writer   — the writer's per-transaction summary upkeep (src/ledger/sqlite-summaries.ts), what Tollgate runs.
 *
 *   node_modules/.bin/node test/bench/ledger-write.ts   → test/bench/results/ledger-write.json
 * BENCH_BATCHES (default 1000), BENCH_PREFILL (records already in the ledger, default 100000), BENCH_ROUNDS (3),
 * BENCH_FLUSH_ROWS (the writer's summaryFlushRows).
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteSink } from '../../src/ledger/sqlite-sink.ts';
import { DEFAULT_FLUSH_ROWS } from '../../src/ledger/sqlite-summaries.ts';
import type { UsageRecord } from '../../src/ledger/usage-record.ts';
import { restoreRowTriggers } from '../helpers/rollup-triggers.ts';
import { rng } from './lib/fuzz-cases.ts';
import { commandLine, machineInfo } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const OUT = resolve(process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/ledger-write.json'));
const BATCHES = Number(process.env.BENCH_BATCHES ?? 1000);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The writer's summaryFlushRows; unset: Tollgate's default. */
const FLUSH_ROWS = process.env.BENCH_FLUSH_ROWS ? Number(process.env.BENCH_FLUSH_ROWS) : undefined;
const PER_BATCH = 25;
const LATENCY_BATCHES = 40;
const FLUSH_MS = 50;
const DAY = 86_400_000;
const VARIANTS = ['baseline', 'triggers', 'writer'] as const;
type Variant = (typeof VARIANTS)[number];
const write = (text: string) => process.stdout.write(text);

/**
 * How the dimensions of a request relate. independent: the dashboard benchmark's records, team (of 20), app (5),
 * user (500), feature (30) and model (6) each drawn on its own, so nearly every request has an hourly summary key of
 * its own (the worst case for summaries). correlated: a user belongs to one team and uses one app, with 2 features
 * and 2 models of their own, closer to real traffic.
 */
const SHAPES = ['independent', 'correlated'] as const;
type Shape = (typeof SHAPES)[number];

function finals(count: number, startedAt: (i: number) => number, seed: number, prefix: string, shape: Shape): UsageRecord[] {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const models = ['gpt-4o-mini', 'gpt-4o', 'claude-haiku', 'claude-sonnet', 'gemini-flash', 'llama-70b'];
  const providers = ['openai', 'anthropic', 'gemini', 'vllm'];
  return Array.from({ length: count }, (_, i) => {
    const at = startedAt(i);
    const failed = random() < 0.05;
    const cached = !failed && random() < 0.1;
    const user = Math.floor(random() * 500);
    const dims = shape === 'independent'
      ? { team: `team-${Math.floor(random() * 20)}`, app: `app-${Math.floor(random() * 5)}`, feature: `feature-${Math.floor(random() * 30)}`, model: pick(models) }
      : { team: `team-${user % 20}`, app: `app-${user % 5}`, feature: `feature-${(user + Math.floor(random() * 2)) % 30}`, model: models[(user + Math.floor(random() * 2)) % 6] as string };
    return {
      requestId: `${prefix}-${i}`, state: 'final', startedAt: at, endedAt: at + 2000, org: 'acme', team: dims.team,
      app: dims.app, user: `user-${user}`, feature: dims.feature, keyId: 'k',
      endpoint: 'chat', model: dims.model, variant: null, provider: failed && random() < 0.5 ? null : pick(providers),
      upstreamModel: null, attempts: [], stream: random() < 0.5, promptTokens: 200 + Math.floor(random() * 2000),
      completionTokens: Math.floor(random() * 800), cachedPromptTokens: 0, cacheWriteTokens: 0,
      costNanoUsd: failed || cached ? 0n : BigInt(Math.floor(random() * 5_000_000)), pricingId: 'bench',
      latencyMs: 50 + random() * 3000, status: failed ? pick([403, 429, 502]) : 200, outcome: failed ? 'rejected' : 'completed',
      errorCode: failed ? pick(['policy_denied', 'rate_limit_exceeded', 'provider_error']) : null, cacheStatus: cached ? 'hit' : 'miss',
      ...(cached ? { savedNanoUsd: BigInt(Math.floor(random() * 5_000_000)) } : {}), traceId: null, reasoningTokens: 0,
    } satisfies UsageRecord;
  });
}

/** The pending entry written at admission: what is known before any provider answers. */
function pendingOf(record: UsageRecord): UsageRecord {
  const { savedNanoUsd: _saved, ...rest } = record;
  return {
    ...rest, state: 'pending', endedAt: null, provider: null, upstreamModel: null, attempts: [], promptTokens: 0, completionTokens: 0,
    costNanoUsd: null, pricingId: null, latencyMs: null, status: null, outcome: 'pending', errorCode: null, cacheStatus: null,
  };
}

/** Batch i: the pendings of requests [25i, 25i+25) and the finals of those admitted LATENCY_BATCHES batches before. */
function batches(now: number, shape: Shape): UsageRecord[][] {
  const requests = finals(BATCHES * PER_BATCH, (i) => now + Math.floor(i / PER_BATCH) * FLUSH_MS, 42, 'live', shape);
  return Array.from({ length: BATCHES + LATENCY_BATCHES }, (_, b) => [
    ...requests.slice(b * PER_BATCH, (b + 1) * PER_BATCH).map(pendingOf),
    ...(b >= LATENCY_BATCHES ? requests.slice((b - LATENCY_BATCHES) * PER_BATCH, (b - LATENCY_BATCHES + 1) * PER_BATCH) : []),
  ]);
}

interface Run {
  shape: Shape;
  variant: Variant;
  records: number;
  wall_ms: number;
  cpu_ms: number;
}

async function run(shape: Shape, variant: Variant, prefilled: string, path: string, work: UsageRecord[][]): Promise<Run> {
  await copyFile(prefilled, path);
  const sink = new SqliteSink({ path, maintainSummaries: variant === 'writer', ...(FLUSH_ROWS ? { summaryFlushRows: FLUSH_ROWS } : {}) });
  await sink.migrate();
  if (variant === 'triggers') {
    const db = new DatabaseSync(path);
    restoreRowTriggers(db);
    db.close();
  }
  // Warm-up outside the measure: the first batches prepare statements and read the file's pages.
  for (const batch of work.slice(0, LATENCY_BATCHES)) await sink.write(batch);
  const measured = work.slice(LATENCY_BATCHES);
  const records = measured.reduce((n, batch) => n + batch.length, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // One batch at a time, as the stream reader flushes.
  for (const batch of measured) await sink.write(batch);
  // Closing applies the summary changes the writer has not applied yet: part of the cost of these writes.
  await sink.close();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await rm(path, { force: true });
  return { shape, variant, records, wall_ms: wall, cpu_ms: (cpu.user + cpu.system) / 1000 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-ledger-write-bench-'));
  try {
    const now = Date.now();
    const runs: Run[] = [];
    const summary: Record<string, Record<Variant, { runs: number; median_records_per_s: number; median_cpu_us_per_record: number }>> = {};
    const ratios: Record<string, Record<'triggers' | 'writer', number>> = {};
    for (const shape of SHAPES) {
      // The prefilled ledger: 30 days of final records, summaries kept by the writer (what the triggers keep too:
      // test/unit/ledger/sqlite-sink.test.ts), copied for every run.
      const prefilled = join(dir, `prefilled-${shape}.sqlite`);
      const seed = new SqliteSink({ path: prefilled });
      await seed.migrate();
      const when = rng(3);
      const history = finals(PREFILL, () => now - 30 * DAY + Math.floor(when() * 30 * DAY), 7, 'old', shape);
      for (let i = 0; i < history.length; i += 5000) await seed.write(history.slice(i, i + 5000));
      await seed.close();
      const work = batches(now, shape);
      write(`${shape}: prefilled ${PREFILL} records; ${BATCHES} batches of ${2 * PER_BATCH} per run\n`);
      for (let r = 0; r < ROUNDS; r++) {
        for (const variant of VARIANTS) {
          const result = await run(shape, variant, prefilled, join(dir, `${variant}-${r}.sqlite`), work);
          runs.push(result);
          write(`${shape} round ${r + 1} ${variant}: ${Math.round(result.records / (result.wall_ms / 1000))} records/s, ${round((result.cpu_ms * 1000) / result.records)} µs CPU per record\n`);
        }
      }
      const perVariant = Object.fromEntries(VARIANTS.map((variant) => {
        const mine = runs.filter((r) => r.shape === shape && r.variant === variant);
        return [variant, {
          runs: mine.length,
          median_records_per_s: Math.round(median(mine.map((r) => r.records / (r.wall_ms / 1000)))),
          median_cpu_us_per_record: round(median(mine.map((r) => (r.cpu_ms * 1000) / r.records))),
        }];
      })) as Record<Variant, { runs: number; median_records_per_s: number; median_cpu_us_per_record: number }>;
      summary[shape] = perVariant;
      const ratio = (variant: Variant) => round(perVariant[variant].median_cpu_us_per_record / perVariant.baseline.median_cpu_us_per_record, 2);
      ratios[shape] = { triggers: ratio('triggers'), writer: ratio('writer') };
    }
    const sqlite = new DatabaseSync(':memory:');
    const sqliteVersion = String(sqlite.prepare('SELECT sqlite_version() AS v').get()?.v);
    sqlite.close();
    const result = {
      benchmark: 'ledger-write',
      date: new Date().toISOString(),
      command: commandLine(projectRoot),
      machine: machineInfo(),
      /** 1-minute load average at the end: on a shared 2-core machine wall times grow with it, CPU times much less. */
      load_average: round(os.loadavg()[0] ?? 0, 2),
      node: process.version,
      sqlite: sqliteVersion,
      prefill_records: PREFILL,
      summary_flush_rows: FLUSH_ROWS ?? DEFAULT_FLUSH_ROWS,
      batches: BATCHES,
      batch: `${PER_BATCH} pending + ${PER_BATCH} final entries (500 requests/s, ${FLUSH_MS} ms flushes, finals ${LATENCY_BATCHES * FLUSH_MS} ms after their pendings)`,
      summary,
      cpu_per_record_vs_baseline: ratios,
      runs: runs.map((r) => ({ ...r, wall_ms: round(r.wall_ms), cpu_ms: round(r.cpu_ms) })),
      notes: [
        'CPU: process.cpuUsage() of the whole benchmark process over the measured batches: the ledger worker thread does the work; the main thread only clones each batch into it (the same for every variant).',
        'baseline keeps no summaries at all (SqliteSink option maintainSummaries: false); triggers is that plus migration 0006\'s row triggers restored from the migration file (test/helpers/rollup-triggers.ts); writer is what Tollgate runs since migration 0007.',
        'Each run writes the same batches into its own copy of one prefilled ledger; variants are interleaved over the rounds so machine load hits them alike; medians per variant. The measure ends after the sink is closed: the writer applies its last captured summary changes then.',
      ],
    };
    await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
    write(`${JSON.stringify({ cpu_per_record_vs_baseline: ratios, load_average: result.load_average })}\nwrote ${OUT}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
