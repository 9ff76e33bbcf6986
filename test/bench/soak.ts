import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readMemoryMb, readCpuSeconds } from './lib/processes.ts';
import { runMixedLoad, percentiles, SOAK_MIX, type RequestRecord } from './lib/mixed-load.ts';
import { budgetCounters, ledgerQueue, startRig, waitForLedger, type BudgetCounter, type LedgerSummary } from './lib/soak-rig.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import { goVersion } from './lib/loadgen.ts';

/**
 * Soak: real Envoy + Tollgate (every stage: policy bundle, quotas and budgets in Redis, exact cache in Redis, ledger
 * through the Redis Stream into PostgreSQL) + the strict fake provider, under an open-loop mix for SOAK_SECONDS
 * (default 600) at SOAK_RPS (default 200): 30 % streams, tool calls, 1 % injected provider faults (500, 429, reset,
 * cut stream, hang), 5 % of clients abandoning a stream after its first chunk, some repeated prompts (cache hits).
 *
 * After the drain it checks: one ledger row per request sent (every request carries a valid key, so each one is
 * authenticated and must have its record), every row final; every budget counter's reserved part back to zero
 * (u = s: no leaked reservation); the ledger queue empty; no 5xx but on requests with an injected fault; Tollgate's
 * RSS after the warm-up grows ≤ 10 %. Latency percentiles per minute. Writes test/bench/results/soak.json.
 */

const projectRoot = resolve(import.meta.dirname, '../..');

export interface SoakOptions {
  seconds: number;
  rps: number;
  /** Seconds of the run before the RSS baseline (default: a fifth of the run, at most 60). */
  warmupSeconds?: number;
  bucketSeconds?: number;
  dir?: string;
  log?: (line: string) => void;
}

export interface SoakResult {
  date: string;
  settings: Record<string, unknown>;
  requests: { sent: number; byKind: Record<string, number>; byOutcome: Record<string, number>; byStatus: Record<string, number>; faults: Record<string, Record<string, number>> };
  ledger: LedgerSummary & { expectedRows: number; lostRecords: number; notFinal: number; queue: { length: number; pending: number } };
  reservations: { counters: number; leakedNanoUsd: number; leakedCounters: BudgetCounter[]; ledgerCostNanoUsd: string; settledNanoUsdByCounter: Record<string, number>; countersMatchingLedger: number };
  gateway5xx: { injected: number; other: number; otherSamples: unknown[] };
  unexpected: { nonFaultNon200: number; samples: unknown[] };
  memory: { tollgateRssMb: { baseline: number; end: number; peak: number; growthPct: number }; samples: { t: number; tollgate: number; envoy: number; redis: number }[] };
  cpuSeconds: Record<string, number>;
  perMinute: unknown[];
  latencyWholeRun: Record<string, unknown>;
  pass: Record<string, boolean>;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const count = <T>(items: T[], key: (item: T) => string) => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tollgate-soak-')));
  const warmupSeconds = options.warmupSeconds ?? Math.min(60, options.seconds / 5);
  const bucketSeconds = options.bucketSeconds ?? (options.seconds >= 240 ? 60 : Math.max(5, Math.round(options.seconds / 4)));
  log(`soak: ${options.seconds} s at ${options.rps} RPS, warm-up ${warmupSeconds} s, buckets of ${bucketSeconds} s (dir ${dir})`);
  const rig = await startRig({ projectRoot, dir, tollgates: 1, upstreamTimeoutMs: 5000 });
  try {
    const samples: { t: number; tollgate: number; envoy: number; redis: number }[] = [];
    const cpu0: Record<string, number> = {};
    for (const [role, pids] of Object.entries(rig.pids())) cpu0[role] = pids.reduce((s, p) => s + readCpuSeconds(p), 0);
    const sample = (t0: number) => {
      const pids = rig.pids();
      const rss = (role: string) => (pids[role] ?? []).reduce((s, p) => s + (readMemoryMb(p)?.rss ?? 0), 0);
      samples.push({ t: round((performance.now() - t0) / 1000, 1), tollgate: round(rss('tollgate'), 1), envoy: round(rss('envoy'), 1), redis: round(rss('redis'), 1) });
    };
    let finished = 0;
    const run = runMixedLoad({
      origin: rig.origin, headers: rig.headers, rps: options.rps, durationMs: options.seconds * 1000, mix: SOAK_MIX, seed: 17,
      onRecord: () => { finished += 1; },
    });
    sample(run.t0);
    const sampler = setInterval(() => sample(run.t0), 2000);
    const progress = setInterval(() => {
      const last = samples.at(-1);
      log(`  t=${Math.round((performance.now() - run.t0) / 1000)} s: ${finished} done, Tollgate RSS ${last?.tollgate} MiB`);
    }, Math.max(10_000, bucketSeconds * 1000));
    const records = await run.done;
    clearInterval(sampler);
    clearInterval(progress);
    sample(run.t0);
    const cpuSeconds: Record<string, number> = {};
    for (const [role, pids] of Object.entries(rig.pids())) cpuSeconds[role] = round(pids.reduce((s, p) => s + readCpuSeconds(p), 0) - (cpu0[role] ?? 0));
    log(`  load done: ${records.length} requests; waiting for the ledger`);

    // ── ledger: one final row per request sent
    const seenIds = new Set(records.flatMap((r) => (r.requestId ? [r.requestId] : [])));
    const ledger = await waitForLedger(rig.db, seenIds, records.length, 60_000);
    const queue = await ledgerQueue(rig.redis.url);
    // ── reservations: after the drain (the end-phase batches flushed, and the quota leases given back: 1 s after
    // their last use, quotas.leases.lease_ms), u = s on every budget counter
    await new Promise((r) => setTimeout(r, 1500));
    const counters = await budgetCounters(rig.redis.url);
    const leaked = counters.filter((c) => c.used !== c.settled);

    const injected5xx = records.filter((r) => r.kind === 'fault' && r.status >= 500).length;
    const other5xx = records.filter((r) => r.kind !== 'fault' && r.status >= 500);
    const nonFaultBad = records.filter((r) => r.kind !== 'fault' && !(r.outcome === 'ok' || r.outcome === 'aborted'));
    const sampleOf = (r: RequestRecord) => ({ index: r.index, kind: r.kind, status: r.status, outcome: r.outcome, due_s: round(r.dueMs / 1000, 1), id: r.requestId, body: r.errorBody });

    // ── memory after the warm-up
    const window = Math.max(10, options.seconds / 10);
    const baselineSamples = samples.filter((s) => s.t >= warmupSeconds && s.t < warmupSeconds + window).map((s) => s.tollgate);
    const endSamples = samples.filter((s) => s.t >= options.seconds - window && s.t <= options.seconds).map((s) => s.tollgate);
    const baseline = mean(baselineSamples);
    const end = mean(endSamples);
    const growthPct = round((end / baseline - 1) * 100, 1);

    // ── latency per bucket (from the due time: open loop)
    const perMinute = [];
    for (let from = 0; from < options.seconds; from += bucketSeconds) {
      const inBucket = records.filter((r) => r.dueMs >= from * 1000 && r.dueMs < (from + bucketSeconds) * 1000);
      const okJson = inBucket.filter((r) => ['json', 'tool', 'repeat'].includes(r.kind) && r.outcome === 'ok');
      const okStream = inBucket.filter((r) => r.kind === 'stream' && r.outcome === 'ok');
      const rss = samples.filter((s) => s.t >= from && s.t < from + bucketSeconds).map((s) => s.tollgate);
      perMinute.push({
        from_s: from, to_s: Math.min(options.seconds, from + bucketSeconds), requests: inBucket.length,
        not_ok: inBucket.filter((r) => r.kind !== 'fault' && !(r.outcome === 'ok' || r.outcome === 'aborted')).length,
        json_ms: percentiles(okJson.map((r) => r.doneMs)),
        stream_first_byte_ms: percentiles(okStream.map((r) => r.headersMs)),
        stream_total_ms: percentiles(okStream.map((r) => r.doneMs)),
        send_lag_ms: percentiles(inBucket.map((r) => r.sentLagMs)),
        tollgate_rss_mb: round(mean(rss), 1),
      });
    }
    const okJsonAll = records.filter((r) => ['json', 'tool', 'repeat'].includes(r.kind) && r.outcome === 'ok');
    const okStreamAll = records.filter((r) => r.kind === 'stream' && r.outcome === 'ok');

    const faults: Record<string, Record<string, number>> = {};
    for (const r of records.filter((x) => x.kind === 'fault')) {
      const key = r.fault as string;
      faults[key] ??= {};
      const label = `${r.status || 'none'} ${r.outcome.split(':')[0]}`;
      faults[key][label] = (faults[key][label] ?? 0) + 1;
    }
    const notFinal = ledger.rows - (ledger.byState.final ?? 0);
    const leakedNanoUsd = leaked.reduce((s, c) => s + (c.used - c.settled), 0);
    const result: SoakResult = {
      date: new Date().toISOString(),
      settings: {
        seconds: options.seconds, rps: options.rps, warmup_seconds: warmupSeconds, bucket_seconds: bucketSeconds, mix: SOAK_MIX,
        faults: 'x-fake-fault: status=500, status=429, reset, cut-stream=2 (streams), hang (Envoy upstream timeout 5 s)',
        aborts: 'a stream (40 ms between chunks) abandoned by its client after its first chunk',
        stages: ['auth', 'validate', 'models', 'route', 'policy', 'quota', 'cache', 'ledger', 'observe'],
        store: 'redis-server (no persistence)', ledger: 'PostgreSQL via the Redis Stream queue', tollgate_processes: 1,
        generator: 'Node open-loop generator in the harness process (test/bench/lib/mixed-load.ts, undici), seed 17',
      },
      requests: {
        sent: records.length, byKind: count(records, (r) => r.kind), byOutcome: count(records, (r) => r.outcome.split(':')[0] as string),
        byStatus: count(records, (r) => String(r.status)), faults,
      },
      ledger: { ...ledger, missingIds: ledger.missingIds.slice(0, 20), expectedRows: records.length, lostRecords: Math.max(0, records.length - ledger.rows) + ledger.missingIds.length, notFinal, queue },
      reservations: {
        counters: counters.length, leakedNanoUsd, leakedCounters: leaked,
        ledgerCostNanoUsd: ledger.costNanoUsd,
        settledNanoUsdByCounter: Object.fromEntries(counters.map((c) => [c.key, c.settled])),
        // One tenant, one day and month: every budget counter's settled spend is the ledger's total cost.
        countersMatchingLedger: counters.filter((c) => String(c.settled) === ledger.costNanoUsd).length,
      },
      gateway5xx: { injected: injected5xx, other: other5xx.length, otherSamples: other5xx.slice(0, 10).map(sampleOf) },
      unexpected: { nonFaultNon200: nonFaultBad.length, samples: nonFaultBad.slice(0, 10).map(sampleOf) },
      memory: { tollgateRssMb: { baseline: round(baseline, 1), end: round(end, 1), peak: Math.max(...samples.map((s) => s.tollgate)), growthPct }, samples },
      cpuSeconds,
      perMinute,
      latencyWholeRun: {
        json_ms: percentiles(okJsonAll.map((r) => r.doneMs)),
        stream_first_byte_ms: percentiles(okStreamAll.map((r) => r.headersMs)),
        send_lag_ms: percentiles(records.map((r) => r.sentLagMs)),
      },
      pass: {
        no_lost_usage_records: ledger.rows === records.length && ledger.missingIds.length === 0,
        every_record_final: notFinal === 0,
        no_leaked_reservations: leaked.length === 0,
        budgets_equal_ledger_cost: counters.length > 0 && counters.every((c) => String(c.settled) === ledger.costNanoUsd),
        ledger_queue_drained: queue.length === 0 && queue.pending === 0,
        no_gateway_5xx_but_injected: other5xx.length === 0,
        rss_growth_at_most_10pct: growthPct <= 10,
      },
    };
    return result;
  } finally {
    await rig.stop();
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.env.SOAK_SECONDS ?? 600);
  const rps = Number(process.env.SOAK_RPS ?? 200);
  const result = await runSoak({ seconds, rps, ...(process.env.SOAK_DIR ? { dir: process.env.SOAK_DIR } : {}) });
  const out = {
    ...result,
    machine: machineInfo(),
    versions: { ...versions(projectRoot), go: goVersion() },
    command: commandLine(projectRoot),
    note: 'The machine (2 cores) is shared with other engineers\' test runs: latency and RSS figures are noisy; the correctness figures (records, reservations, 5xx) are exact counts.',
  };
  const path = process.env.SOAK_OUT ?? join(projectRoot, 'test/bench/results/soak.json');
  await mkdir(resolve(path, '..'), { recursive: true });
  await writeFile(path, `${JSON.stringify(out, null, 2)}\n`);
  const w = (line: string) => process.stdout.write(`${line}\n`);
  w(`\nsent ${result.requests.sent}: ${JSON.stringify(result.requests.byKind)}`);
  w(`outcomes ${JSON.stringify(result.requests.byOutcome)} statuses ${JSON.stringify(result.requests.byStatus)}`);
  w(`faults ${JSON.stringify(result.requests.faults)}`);
  w(`ledger: ${result.ledger.rows} rows for ${result.ledger.expectedRows} requests, lost ${result.ledger.lostRecords}, not final ${result.ledger.notFinal}, queue ${JSON.stringify(result.ledger.queue)}`);
  w(`reservations: ${result.reservations.counters} budget counters, leaked ${result.reservations.leakedCounters.length} (${result.reservations.leakedNanoUsd} nano-USD)`);
  w(`5xx: injected ${result.gateway5xx.injected}, other ${result.gateway5xx.other}; non-fault not ok: ${result.unexpected.nonFaultNon200} ${JSON.stringify(result.unexpected.samples.slice(0, 3))}`);
  w(`Tollgate RSS: ${JSON.stringify(result.memory.tollgateRssMb)}`);
  w(`latency: ${JSON.stringify(result.latencyWholeRun)}`);
  w(`pass: ${JSON.stringify(result.pass)}\nwrote ${path}`);
  process.exitCode = Object.values(result.pass).every(Boolean) ? 0 : 1;
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
