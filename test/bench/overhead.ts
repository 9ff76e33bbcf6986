/**
 * Overhead benchmark: what Tollgate adds to a request, against the same zero-latency fake provider reached
 *   direct → fake, bare Envoy → fake, Envoy + Tollgate (ext_proc) → fake
 * (and, as a diagnostic floor, Envoy + a no-op ext_proc server on Tollgate's own gRPC transport), with fixed-rate
 * open-loop load (lib/paced-load.ts), all measured in one run, plus Tollgate's RSS.
 *
 *   node_modules/.bin/node test/bench/overhead.ts      → test/bench/results/overhead.json
 *
 * Env (all optional):
 *   BENCH_SECONDS=20 BENCH_WARMUP_SECONDS=3 BENCH_RATES=200,500   measured/warm-up seconds, rates
 *   BENCH_INFO_LOGGING=1      extra run at the highest rate with Tollgate logging at info (one line per request)
 *   BENCH_NOOP_EXTPROC=1      the no-op ext_proc target (0 to skip)
 *   BENCH_EXTPROC_UDS=1       Envoy reaches Tollgate over a Unix socket (extproc.socket_path) instead of TCP
 *   BENCH_MAX_FOREIGN_CPU=10 BENCH_ATTEMPTS=3 BENCH_QUIET_TIMEOUT_S=300   redo runs disturbed by other processes
 *   BENCH_OUT=FILE            results file
 * Diagnostics (profiling; BENCH_TARGETS=a subset writes no results file):
 *   BENCH_TARGETS=tollgate,noop       only these targets
 *   BENCH_TOLLGATE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof"   then: node test/bench/profile-summary.ts FILE
 *   BENCH_TOLLGATE_NODE_ARGS="--trace-gc"   V8 flags NODE_OPTIONS refuses
 *   BENCH_PROBE=1             GC pauses, event-loop delay, memory of Tollgate / the no-op server (lib/tollgate-probe.ts)
 *   BENCH_ENVOY_RUNTIME=key=value,…   Envoy runtime overrides for the ext_proc Envoys
 *   BENCH_NOOP_TRACE=1        how the no-op server's HTTP/2 sessions end
 *   BENCH_DUMP_DIR=DIR        per-request latencies (CSV) of each measured run
 *   BENCH_KEEP_DIR=1          keep the temp dir (configs, Tollgate log, probe files)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Pool } from 'undici';
import { parse as parseYaml, stringify } from 'yaml';
import { validateConfig } from '../../src/config/load-config.ts';
import { renderEnvoyConfig } from '../../src/envoy/render-envoy-config.ts';
import { writeEnvoyConfig } from '../../src/envoy/write-envoy-config.ts';
import { freePort } from '../helpers/free-port.ts';
import { createPool, runPacedLoad, type PacedLoadResult } from './lib/paced-load.ts';
import { difference, pick, ratio, type Percentiles } from './lib/percentiles.ts';
import { machineInfo, versions as readVersions } from './lib/run-info.ts';
import {
  RssSampler,
  readCpuPressureUs,
  readCpuSeconds,
  readRunqueueWaitMs,
  readMemoryMb,
  startEnvoyAt,
  startForeignCpuMeter,
  startNoopExtproc,
  waitForQuiet,
  startFakeProvider,
  startTollgateServe,
  writeBareEnvoyConfig,
  type RunningEnvoy,
  type WatchedProcess,
} from './lib/processes.ts';
import { startBenchRun } from './lib/bench-run.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const RATES = (process.env.BENCH_RATES ?? '200,500').split(',').map(Number).filter((n) => n > 0);
const INFO_LOGGING = (process.env.BENCH_INFO_LOGGING ?? '1') !== '0';
/** Envoy → Tollgate over a Unix socket instead of TCP loopback. */
const EXTPROC_UDS = process.env.BENCH_EXTPROC_UDS === '1';
const TOLLGATE_NODE_OPTIONS = process.env.BENCH_TOLLGATE_NODE_OPTIONS;
/** Node/V8 flags NODE_OPTIONS refuses (e.g. "--trace-gc --single-threaded-gc"): Tollgate then runs without bin/tollgate. */
const TOLLGATE_NODE_ARGS = (process.env.BENCH_TOLLGATE_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Which targets to measure (default all three; a subset is for profiling, it leaves the results incomplete). */
const ONLY = new Set((process.env.BENCH_TARGETS ?? 'direct,envoy,tollgate,noop').split(','));
/** Keep the temp dir (Tollgate's logs, configs) for a look afterwards. */
const KEEP_DIR = process.env.BENCH_KEEP_DIR === '1';
/** Preload lib/tollgate-probe.ts into Tollgate: GC pauses, event-loop delay and memory per measured run. */
const PROBE = process.env.BENCH_PROBE === '1';
/** Write each measured run's per-request latencies (CSV) into this directory. */
const DUMP_DIR = process.env.BENCH_DUMP_DIR ? resolve(process.env.BENCH_DUMP_DIR) : null;
/** Adds a 4th target: Envoy (Tollgate's rendered config) + lib/noop-extproc.ts, the ext_proc transport without stages. */
const NOOP_EXTPROC = (process.env.BENCH_NOOP_EXTPROC ?? '1') !== '0';
/**
 * Envoy runtime overrides for the ext_proc Envoys (experiments, e.g.
 * "envoy.reloadable_features.ext_proc_graceful_grpc_close=true"): added as a static runtime layer to a copy of the
 * rendered bootstrap.
 */
const ENVOY_RUNTIME = Object.fromEntries((process.env.BENCH_ENVOY_RUNTIME ?? '').split(',').filter(Boolean).map((pair) => {
  const [key, value = ''] = pair.split('=');
  return [key as string, value === 'true' ? true : value === 'false' ? false : Number.isNaN(Number(value)) ? value : Number(value)];
}));

/** The rendered bootstrap, or a copy with ENVOY_RUNTIME as a static runtime layer. */
async function envoyBootstrap(renderedPath: string, copyPath: string): Promise<string> {
  if (!Object.keys(ENVOY_RUNTIME).length) return renderedPath;
  const bootstrap = parseYaml(readFileSync(renderedPath, 'utf8')) as Record<string, unknown>;
  bootstrap.layered_runtime = { layers: [{ name: 'bench_overrides', static_layer: ENVOY_RUNTIME }] };
  await writeFile(copyPath, stringify(bootstrap));
  return copyPath;
}
/** A run during which other processes (this machine may be shared) used more CPU than this (% of one core) is redone. */
const MAX_FOREIGN_CPU_PCT = Number(process.env.BENCH_MAX_FOREIGN_CPU ?? 10);
const ATTEMPTS = Math.max(1, Number(process.env.BENCH_ATTEMPTS ?? 3));
const QUIET_TIMEOUT_MS = Number(process.env.BENCH_QUIET_TIMEOUT_S ?? 300) * 1000;
const OUT = resolve(process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/overhead.json'));
/** The issue's target at the highest rate: Tollgate adds at most this over bare Envoy. */
const TARGET = { rps: 500, p50_ms: 1, p99_ms: 5 };

const PROVIDER_KEY = 'sk-bench-provider-key';
const VIRTUAL_KEY = 'tg-bench-virtual-key-0123456789';
const MODEL = 'gpt-4o-mini';
const PATH = '/v1/chat/completions';
const REQUEST_BODY = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] });
/** The gateway's default, used for both Envoys. */
const BUFFER_LIMIT_BYTES = 32 * 1024 * 1024;

type TargetName = 'direct' | 'envoy' | 'tollgate' | 'noop';

interface Target {
  name: TargetName;
  label: string;
  pool: Pool;
  headers: Record<string, string>;
  /** Processes whose CPU time is reported for this target's runs. */
  pids: () => Record<string, number>;
  /** The admin URL of the target's Envoy: its ext_proc and upstream counters are diffed over each run. */
  envoyAdminUrl?: string;
}

const ENVOY_STATS_FILTER = 'ext_proc|tollgate_extproc\\.http2\\.|tollgate_extproc\\.upstream_(rq_(timeout|rx_reset|tx_reset|5xx)|cx_(destroy_remote|connect_fail))|' +
  '(fake_provider|provider_openai)\\.upstream_(rq_(timeout|rx_reset|tx_reset|5xx|retry)|cx_(destroy_remote_with_active_rq|connect_fail))|downstream_rq_5xx';

async function envoyCounters(adminUrl: string | undefined): Promise<Record<string, number>> {
  if (!adminUrl) return {};
  const text = await fetch(`${adminUrl}/stats?filter=${encodeURIComponent(ENVOY_STATS_FILTER)}`).then((r) => r.text(), () => '');
  const counters: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([^:]+): (\d+)$/.exec(line.trim());
    if (match) counters[match[1] as string] = Number(match[2]);
  }
  return counters;
}

interface MeasuredRun {
  target: TargetName;
  rps: number;
  result: PacedLoadResult;
  /** CPU used during the measured window, in % of one core. */
  cpu_pct: Record<string, number>;
  /** Time each process spent runnable but waiting for a CPU, % of the run's wall time (sum over its threads). */
  runqueue_wait_pct: Record<string, number>;
  /** PSI "some" CPU pressure: % of the run during which at least one task waited for a CPU. */
  cpu_pressure_pct: number;
  /** CPU used meanwhile by processes outside the benchmark, % of one core. */
  foreign_cpu_pct: number;
  attempts: number;
  /** Envoy counters (ext_proc, resets, 5xx) that changed during the run. */
  envoy_stats?: Record<string, number>;
  /** From lib/tollgate-probe.ts (BENCH_PROBE=1), Tollgate and no-op ext_proc runs only. */
  probe?: ProbeSummary | null;
}

interface ProbeSummary {
  seconds: number;
  gc_total_ms: number;
  gc_pct_of_wall: number;
  gc_max_pause_ms: number;
  gc_pauses_over_5ms: number;
  gc_by_kind: Record<string, { count: number; total_ms: number; max_ms: number }>;
  loop_delay_p99_ms_max: number;
  loop_delay_max_ms: number;
  rss_mb: { first: number; last: number };
  heap_used_mb_max: number;
  heap_total_mb_last: number;
  external_mb_last: number;
  array_buffers_mb_last: number;
}

let probeFile: string | null = null;
let noopProbeFile: string | null = null;
/** Output of the no-op ext_proc server (its --trace-sessions lines). */
let noopOutput: string[] = [];

interface ProbeLine {
  t: number; rss_mb: number; heap_total_mb: number; heap_used_mb: number; external_mb: number; array_buffers_mb: number;
  loop_delay_ms: { p50: number; p99: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number; over5ms: number; byKind: Record<string, { count: number; totalMs: number; maxMs: number }> };
}

function summarizeProbe(file: string | null, from: number, to: number): ProbeSummary | null {
  if (!file) return null;
  let lines: ProbeLine[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ProbeLine)
      .filter((line) => line.t !== undefined && line.t > from + 1000 && line.t <= to + 500);
  } catch {
    return null;
  }
  if (!lines.length) return null;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const byKind: ProbeSummary['gc_by_kind'] = {};
  for (const line of lines) {
    for (const [kind, slot] of Object.entries(line.gc.byKind)) {
      const into = (byKind[kind] ??= { count: 0, total_ms: 0, max_ms: 0 });
      into.count += slot.count;
      into.total_ms = r2(into.total_ms + slot.totalMs);
      into.max_ms = r2(Math.max(into.max_ms, slot.maxMs));
    }
  }
  const gcTotal = lines.reduce((sum, line) => sum + line.gc.totalMs, 0);
  const first = lines[0] as ProbeLine;
  const last = lines[lines.length - 1] as ProbeLine;
  return {
    seconds: lines.length,
    gc_total_ms: r2(gcTotal),
    gc_pct_of_wall: r2((gcTotal / (lines.length * 1000)) * 100),
    gc_max_pause_ms: r2(Math.max(...lines.map((line) => line.gc.maxMs))),
    gc_pauses_over_5ms: lines.reduce((sum, line) => sum + line.gc.over5ms, 0),
    gc_by_kind: byKind,
    loop_delay_p99_ms_max: r2(Math.max(...lines.map((line) => line.loop_delay_ms.p99))),
    loop_delay_max_ms: r2(Math.max(...lines.map((line) => line.loop_delay_ms.max))),
    rss_mb: { first: first.rss_mb, last: last.rss_mb },
    heap_used_mb_max: Math.max(...lines.map((line) => line.heap_used_mb)),
    heap_total_mb_last: last.heap_total_mb,
    external_mb_last: last.external_mb,
    array_buffers_mb_last: last.array_buffers_mb,
  };
}

/** All benchmark processes, to tell their CPU use from other processes'. */
let ourPids: () => number[] = () => [];

const write = (text: string) => process.stdout.write(text);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

// ───────────────────────────────────────────────────────────────── setup

function tollgateConfig(options: {
  listenerPort: number; envoyAdminPort: number; extprocPort: number; adminPort: number;
  envoyDir: string; fakeUrl: string; logLevel: string;
}): string {
  return stringify(tollgateConfigObject(options));
}

function tollgateConfigObject(options: {
  listenerPort: number; envoyAdminPort: number; extprocPort: number; adminPort: number;
  envoyDir: string; fakeUrl: string; logLevel: string;
}): Record<string, unknown> {
  return ({
    listener: { address: '127.0.0.1', port: options.listenerPort },
    envoy: {
      admin: { address: '127.0.0.1', port: options.envoyAdminPort },
      max_response_body_bytes: BUFFER_LIMIT_BYTES,
      config_dir: options.envoyDir,
    },
    extproc: {
      address: '127.0.0.1', port: options.extprocPort,
      ...(EXTPROC_UDS ? { socket_path: `${options.envoyDir}.extproc.sock` } : {}),
    },
    admin: { address: '127.0.0.1', port: options.adminPort, token_env: 'BENCH_ADMIN_TOKEN' },
    store: { type: 'memory' },
    logging: { level: options.logLevel },
    providers: { openai: { type: 'openai', base_url: options.fakeUrl, api_key_env: 'BENCH_PROVIDER_KEY' } },
    models: { [MODEL]: { provider: 'openai', kind: 'chat' } },
    orgs: { bench: { teams: { perf: { apps: { loadgen: {} } } } } },
    keys: [{ key_env: 'BENCH_VIRTUAL_KEY', org: 'bench', team: 'perf', app: 'loadgen', name: 'bench' }],
  });
}

async function smokeCheck(target: Target): Promise<void> {
  const response = await target.pool.request({ path: PATH, method: 'POST', headers: target.headers, body: REQUEST_BODY });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${target.label}: smoke request answered ${response.statusCode}: ${text}`);
  if (target.name === 'tollgate' && !response.headers['x-tollgate-provider']) {
    throw new Error(`${target.label}: the answer did not go through Tollgate (no x-tollgate-provider header)`);
  }
}

// ───────────────────────────────────────────────────────────────── measuring

async function measure(target: Target, rps: number, seconds: number): Promise<MeasuredRun> {
  const pids = target.pids();
  const foreign = startForeignCpuMeter(ourPids);
  const countersBefore = await envoyCounters(target.envoyAdminUrl);
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readCpuSeconds(pid)]));
  const waitBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readRunqueueWaitMs(pid)]));
  const selfWaitBefore = readRunqueueWaitMs(process.pid);
  const pressureBefore = readCpuPressureUs();
  const selfBefore = process.cpuUsage();
  const startedAt = performance.now();
  const startedAtEpoch = Date.now();
  const result = await runPacedLoad(target.pool, { path: PATH, headers: target.headers, body: REQUEST_BODY, rps, durationMs: seconds * 1000 });
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const self = process.cpuUsage(selfBefore);
  const cpu_pct: Record<string, number> = { generator: Math.round(((self.user + self.system) / 1e6 / wallSeconds) * 1000) / 10 };
  for (const [name, pid] of Object.entries(pids)) {
    cpu_pct[name] = Math.round(((readCpuSeconds(pid) - (before[name] as number)) / wallSeconds) * 1000) / 10;
  }
  const pct = (ms: number) => Math.round((ms / (wallSeconds * 1000)) * 1000) / 10;
  const runqueue_wait_pct: Record<string, number> = { generator: pct(readRunqueueWaitMs(process.pid) - selfWaitBefore) };
  for (const [name, pid] of Object.entries(pids)) runqueue_wait_pct[name] = pct(readRunqueueWaitMs(pid) - (waitBefore[name] as number));
  const cpu_pressure_pct = pct((readCpuPressureUs() - pressureBefore) / 1000);
  if (DUMP_DIR) {
    const { t0Epoch, intervalMs, latencies } = result.raw;
    const rows = Array.from(latencies, (ms, i) => `${(t0Epoch + i * intervalMs).toFixed(1)},${Number.isNaN(ms) ? '' : ms.toFixed(3)}`);
    mkdirSync(DUMP_DIR, { recursive: true });
    await writeFile(join(DUMP_DIR, `${target.name}-${target.label.includes('(info)') ? 'info-' : ''}${rps}.csv`), `scheduled_epoch_ms,latency_ms\n${rows.join('\n')}\n`);
  }
  const probeOf = target.name === 'tollgate' ? probeFile : target.name === 'noop' ? noopProbeFile : null;
  const probe = summarizeProbe(probeOf, startedAtEpoch, Date.now());
  const foreignPct = foreign.stop();
  const countersAfter = await envoyCounters(target.envoyAdminUrl);
  const envoy_stats: Record<string, number> = {};
  for (const [name, value] of Object.entries(countersAfter)) {
    const delta = value - (countersBefore[name] ?? 0);
    if (delta) envoy_stats[name] = delta;
  }
  return { target: target.name, rps, result, cpu_pct, runqueue_wait_pct, cpu_pressure_pct, foreign_cpu_pct: foreignPct, attempts: 1, envoy_stats, ...(probe ? { probe } : {}) };
}

async function warmAndMeasure(target: Target, rps: number): Promise<MeasuredRun> {
  let best: MeasuredRun | null = null;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    write(`  ${target.label.padEnd(20)} ${String(rps).padStart(4)} RPS: `);
    const quiet = await waitForQuiet(ourPids, MAX_FOREIGN_CPU_PCT, QUIET_TIMEOUT_MS);
    if (quiet.waitedMs > 1500) write(`waited ${(quiet.waitedMs / 1000).toFixed(0)} s for a quiet machine${quiet.quiet ? '' : ' (gave up)'}… `);
    write(`warm-up ${WARMUP_SECONDS} s… `);
    if (WARMUP_SECONDS > 0) await runPacedLoad(target.pool, { path: PATH, headers: target.headers, body: REQUEST_BODY, rps, durationMs: WARMUP_SECONDS * 1000 });
    write(`measuring ${SECONDS} s… `);
    const run = await measure(target, rps, SECONDS);
    run.attempts = attempt;
    const l = run.result.latency;
    write(`p50 ${fmt(l.p50)}  p90 ${fmt(l.p90)}  p99 ${fmt(l.p99)} ms, ${run.result.errorCount} errors, ` +
      `CPU ${Object.entries(run.cpu_pct).map(([k, v]) => `${k} ${v}%`).join(' ')}, others ${run.foreign_cpu_pct}%\n` +
      `    waiting for a CPU: ${Object.entries(run.runqueue_wait_pct).map(([k, v]) => `${k} ${v}%`).join(' ')}; CPU pressure ${run.cpu_pressure_pct}%\n`);
    const troubles = Object.entries(run.envoy_stats ?? {}).filter(([name]) => !/streams_(started|closed)|stream_msgs_(sent|received)/.test(name));
    if (troubles.length) write(`    Envoy: ${troubles.map(([name, n]) => `${name}=${n}`).join(' ')}\n`);
    if (run.result.errorSamples.length) write(`    first error: ${run.result.errorSamples[0]?.slice(0, 200)}\n`);
    if (run.probe) {
      const p = run.probe;
      write(`    probe: GC ${p.gc_total_ms} ms (${p.gc_pct_of_wall}%), max pause ${p.gc_max_pause_ms} ms, ${p.gc_pauses_over_5ms} pauses > 5 ms; ` +
        `loop delay p99 ≤ ${p.loop_delay_p99_ms_max} ms, max ${p.loop_delay_max_ms} ms; RSS ${p.rss_mb.first} → ${p.rss_mb.last} MiB, ` +
        `heap used ≤ ${p.heap_used_mb_max} MiB, external ${p.external_mb_last} MiB\n`);
    }
    if (!best || run.foreign_cpu_pct < best.foreign_cpu_pct) best = run;
    if (run.foreign_cpu_pct <= MAX_FOREIGN_CPU_PCT) break;
    if (attempt < ATTEMPTS) write(`    other processes used ${run.foreign_cpu_pct}% of a core during the run: measuring again\n`);
  }
  return best as MeasuredRun;
}

function runSummary(run: MeasuredRun) {
  const r = run.result;
  return {
    p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, p999: r.latency.p999, mean: r.latency.mean, max: r.latency.max,
    ok: r.ok, scheduled: r.scheduled, achieved_rps: r.achievedRps,
    errors: r.errorCount, error_detail: { statuses: r.statuses, transport: r.errors, unanswered: r.unanswered, samples: r.errorSamples },
    send_lag_ms: { p50: r.sendLag.p50, p99: r.sendLag.p99, max: r.sendLag.max },
    response_bytes_avg: r.ok ? Math.round(r.responseBytes / (r.ok + Object.values(r.statuses).reduce((a, b) => a + b, 0))) : 0,
    cpu_pct: run.cpu_pct,
    runqueue_wait_pct: run.runqueue_wait_pct,
    cpu_pressure_pct: run.cpu_pressure_pct,
    foreign_cpu_pct: run.foreign_cpu_pct,
    attempts: run.attempts,
    envoy_stats: run.envoy_stats ?? {},
    ...(run.probe ? { probe: run.probe } : {}),
  };
}

// ───────────────────────────────────────────────────────────────── main

async function main(): Promise<void> {
  const { group, dir, cleanUp } = await startBenchRun({ prefix: 'tollgate-bench-', keepDir: KEEP_DIR, write });

  try {
    const machine = machineInfo();
    const versionInfo = readVersions(projectRoot);
    write(`Tollgate overhead benchmark: ${machine.cores} cores (${machine.model}), node ${versionInfo.node}, envoy ${versionInfo.envoy}\n`);
    write(`open-loop load, ${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up, rates ${RATES.join(', ')} RPS\n`);

    // The fake provider, its own process.
    const fake = group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    const fakeUrl = new URL(fake.url);
    const fakePort = Number(fakeUrl.port);

    // Bare Envoy → fake.
    const [bareListenerPort, bareAdminPort] = [await freePort(), await freePort()];
    const bareConfigPath = join(dir, 'bare-envoy.yaml');
    await writeBareEnvoyConfig(bareConfigPath, {
      listenerPort: bareListenerPort, adminPort: bareAdminPort, upstreamHost: fakeUrl.hostname, upstreamPort: fakePort, bufferLimitBytes: BUFFER_LIMIT_BYTES,
    });
    const bareEnvoy = group.add(await startEnvoyAt(projectRoot, bareConfigPath, bareAdminPort));

    // Envoy + Tollgate → fake: `tollgate serve` renders Envoy's files into config_dir, then Envoy starts on them.
    const ports = { listenerPort: await freePort(), envoyAdminPort: await freePort(), extprocPort: await freePort(), adminPort: await freePort() };
    const envoyDir = join(dir, 'envoy');
    const configPath = join(dir, 'tollgate.yaml');
    const tollgateEnv = { ...process.env, BENCH_PROVIDER_KEY: PROVIDER_KEY, BENCH_VIRTUAL_KEY: VIRTUAL_KEY, BENCH_ADMIN_TOKEN: 'bench-admin' };
    const tollgateAdminUrl = `http://127.0.0.1:${ports.adminPort}`;
    const startTollgate = async (logLevel: string, logFile: string): Promise<WatchedProcess> => {
      await writeFile(configPath, tollgateConfig({ ...ports, envoyDir, fakeUrl: fake.url, logLevel }));
      probeFile = PROBE ? join(dir, `probe-${logLevel}.jsonl`) : null;
      const nodeOptions = [TOLLGATE_NODE_OPTIONS, PROBE ? `--import=${join(import.meta.dirname, 'lib/tollgate-probe.ts')}` : undefined]
        .filter(Boolean).join(' ');
      return group.add(await startTollgateServe({
        projectRoot, configPath, adminUrl: tollgateAdminUrl, logFile,
        env: { ...tollgateEnv, ...(probeFile ? { BENCH_PROBE_FILE: probeFile } : {}) },
        ...(nodeOptions ? { nodeOptions } : {}),
        ...(TOLLGATE_NODE_ARGS.length ? { nodeArgs: TOLLGATE_NODE_ARGS } : {}),
      }));
    };
    let tollgate = await startTollgate('warn', join(dir, 'tollgate-warn.log'));
    const gatewayEnvoy: RunningEnvoy = group.add(await startEnvoyAt(projectRoot,
      await envoyBootstrap(join(envoyDir, 'envoy.yaml'), join(dir, 'envoy-gateway-runtime.yaml')), ports.envoyAdminPort));

    const pools: Pool[] = [];
    const pool = (origin: string) => {
      const created = createPool(origin);
      pools.push(created);
      return created;
    };
    const json = { 'content-type': 'application/json' };
    const targets: Target[] = [
      {
        name: 'direct', label: 'direct → fake', pool: pool(fakeUrl.origin),
        headers: { ...json, authorization: `Bearer ${PROVIDER_KEY}` }, pids: () => ({ fake: fake.pid }),
      },
      {
        name: 'envoy', label: 'Envoy → fake', pool: pool(`http://127.0.0.1:${bareListenerPort}`),
        headers: { ...json, authorization: `Bearer ${PROVIDER_KEY}` }, pids: () => ({ fake: fake.pid, envoy: bareEnvoy.pid }),
        envoyAdminUrl: bareEnvoy.adminUrl,
      },
      {
        name: 'tollgate', label: 'Envoy+Tollgate', pool: pool(`http://127.0.0.1:${ports.listenerPort}`),
        headers: { ...json, authorization: `Bearer ${VIRTUAL_KEY}` },
        pids: () => ({ fake: fake.pid, envoy: gatewayEnvoy.pid, tollgate: tollgate.pid }),
        envoyAdminUrl: gatewayEnvoy.adminUrl,
      },
    ];
    const extraPids: number[] = [];
    if (NOOP_EXTPROC && ONLY.has('noop')) {
      // The same rendered Envoy config as Tollgate's, pointed at the no-op ext_proc server.
      noopProbeFile = PROBE ? join(dir, 'probe-noop.jsonl') : null;
      const noop = group.add(await startNoopExtproc(projectRoot, 'openai', PROVIDER_KEY, {
        args: process.env.BENCH_NOOP_TRACE === '1' ? ['--trace-sessions'] : [],
        nodeArgs: PROBE ? [`--import=${join(import.meta.dirname, 'lib/tollgate-probe.ts')}`] : [],
        env: { ...process.env, ...(noopProbeFile ? { BENCH_PROBE_FILE: noopProbeFile } : {}) },
      }));
      noopOutput = noop.output;
      const noopPorts = { listenerPort: await freePort(), envoyAdminPort: await freePort(), extprocPort: noop.port, adminPort: 0 };
      const noopDir = join(dir, 'envoy-noop');
      const noopConfig = validateConfig(tollgateConfigObject({ ...noopPorts, envoyDir: noopDir, fakeUrl: fake.url, logLevel: 'warn' }));
      await writeEnvoyConfig(noopDir, renderEnvoyConfig(noopConfig, { dir: noopDir }));
      const noopEnvoy = group.add(await startEnvoyAt(projectRoot,
        await envoyBootstrap(join(noopDir, 'envoy.yaml'), join(dir, 'envoy-noop-runtime.yaml')), noopPorts.envoyAdminPort));
      extraPids.push(noop.pid, noopEnvoy.pid);
      targets.push({
        name: 'noop', label: 'Envoy+noop ext_proc', pool: pool(`http://127.0.0.1:${noopPorts.listenerPort}`),
        headers: { ...json, authorization: `Bearer ${VIRTUAL_KEY}` },
        pids: () => ({ fake: fake.pid, envoy: noopEnvoy.pid, noop_extproc: noop.pid }),
        envoyAdminUrl: noopEnvoy.adminUrl,
      });
    }
    for (const target of targets) await smokeCheck(target);
    ourPids = () => [fake.pid, bareEnvoy.pid, gatewayEnvoy.pid, tollgate.pid, ...extraPids];

    const idleRss = readMemoryMb(tollgate.pid)?.rss ?? Number.NaN;
    const rss = new RssSampler(tollgate.pid).start(250);
    const measured: MeasuredRun[] = [];
    for (const rps of RATES) {
      write(`\n${rps} RPS\n`);
      for (const target of targets) if (ONLY.has(target.name)) measured.push(await warmAndMeasure(target, rps));
    }
    rss.sample();
    rss.stop();
    const afterLoadRss = readMemoryMb(tollgate.pid);
    const rssDetail = {
      idle_before_load: round1(idleRss),
      peak_during_load: round1(rss.peakMb),
      after_load: round1(afterLoadRss?.rss ?? Number.NaN),
      vm_hwm: round1(afterLoadRss?.hwm ?? Number.NaN),
      samples: rss.samples,
    };

    // The extra run with per-request info logging (production logs one line per request): a fresh Tollgate on the
    // same ports, its stdout to a file; Envoy reconnects to it during the warm-up.
    let infoRun: MeasuredRun | null = null;
    let infoLogLines = 0;
    const infoRps = Math.max(...RATES);
    if (INFO_LOGGING) {
      await tollgate.stop();
      group.remove(tollgate);
      const infoLog = join(dir, 'tollgate-info.log');
      tollgate = await startTollgate('info', infoLog);
      await smokeCheck(targets[2] as Target);
      write(`\n${infoRps} RPS, Tollgate logging at info (one line per request)\n`);
      infoRun = await warmAndMeasure({ ...(targets[2] as Target), label: 'Envoy+Tollgate(info)' }, infoRps);
      infoLogLines = readFileSync(infoLog, 'utf8').split('\n').filter((line) => line.includes('"msg":"request"')).length;
    }

    if (process.env.BENCH_NOOP_TRACE === '1') write(`\nno-op ext_proc output:\n${noopOutput.join('\n')}\n`);

    // ── results
    if (!['direct', 'envoy', 'tollgate'].every((name) => ONLY.has(name))) {
      write(`\nBENCH_TARGETS=${[...ONLY].join(',')}: a partial run, ${relative(projectRoot, OUT)} not written.\n`);
      write(`Tollgate RSS: peak under load ${fmt(rssDetail.peak_during_load, 1)} MiB, after load ${fmt(rssDetail.after_load, 1)} MiB\n`);
      await Promise.all(pools.map((p) => p.close()));
      return;
    }
    const byKey = (target: TargetName, rps: number) => measured.find((m) => m.target === target && m.rps === rps) as MeasuredRun;
    const runs = RATES.map((rps) => {
      const direct = byKey('direct', rps);
      const envoy = byKey('envoy', rps);
      const tollgateRun = byKey('tollgate', rps);
      const [d, e, t] = [direct, envoy, tollgateRun].map((m) => pick(m.result.latency)) as [Percentiles, Percentiles, Percentiles];
      const noop = measured.find((m) => m.target === 'noop' && m.rps === rps);
      return {
        rps,
        direct_ms: d,
        envoy_ms: e,
        tollgate_ms: t,
        added_ms: difference(t, e),
        envoy_added_ms: difference(e, d),
        ratio_tollgate_over_envoy: ratio(t, e),
        ratio_envoy_over_direct: ratio(e, d),
        errors: { direct: direct.result.errorCount, envoy: envoy.result.errorCount, tollgate: tollgateRun.result.errorCount },
        detail: { direct: runSummary(direct), envoy: runSummary(envoy), tollgate: runSummary(tollgateRun) },
        ...(noop
          ? {
              noop_extproc_ms: pick(noop.result.latency),
              noop_extproc_added_ms: difference(pick(noop.result.latency), e),
              noop_extproc_detail: runSummary(noop),
            }
          : {}),
      };
    });
    const targetRun = runs.find((run) => run.rps === TARGET.rps);
    const targetMet = targetRun
      ? { p50: targetRun.added_ms.p50 <= TARGET.p50_ms, p99: targetRun.added_ms.p99 <= TARGET.p99_ms }
      : null;
    const infoEnvoy = runs.find((run) => run.rps === infoRps);
    const results = {
      date: new Date().toISOString(),
      machine,
      versions: versionInfo,
      command: [
        ...Object.entries(process.env).filter(([key]) => key.startsWith('BENCH_')).map(([key, value]) => `${key}=${value}`),
        'node_modules/.bin/node',
        ...process.argv.slice(1).map((arg) => relative(projectRoot, arg) || arg),
      ].join(' '),
      settings: {
        measured_seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, rates: RATES, order: 'per rate: direct, envoy, tollgate, noop ext_proc; then the info-logging run',
        load: 'open loop, request i scheduled at t0 + i/rps, latency from the scheduled time (undici Pool, 128 connections, pipelining 1)',
        tollgate_logging: 'warn', envoy_concurrency: 2,
        bare_envoy: 'static listener → HTTP/1.1 cluster, router filter only (no buffer or ext_proc filter)',
        tollgate_stages: ['auth', 'validate', 'models', 'route', 'observe'],
        noop_extproc: NOOP_EXTPROC
          ? 'Envoy with the config Tollgate renders + test/bench/lib/noop-extproc.ts (src/extproc/server.ts, a handler that only sets the route header and provider key): the ext_proc transport without stages'
          : null,
        envoy_runtime_overrides: ENVOY_RUNTIME,
        max_foreign_cpu_pct: MAX_FOREIGN_CPU_PCT,
        attempts: ATTEMPTS,
        foreign_cpu: 'CPU used by processes outside the benchmark during a measured run (% of one core); a run above max_foreign_cpu_pct is redone, the least disturbed attempt is kept',
      },
      request: {
        method: 'POST', path: PATH, body: REQUEST_BODY,
        headers: { 'content-type': 'application/json', authorization: 'Bearer <provider key (direct, envoy) | virtual key (tollgate)>' },
      },
      runs,
      tollgate_rss_mb: rssDetail.peak_during_load,
      tollgate_rss_detail_mb: rssDetail,
      tollgate_info_logging_ms: infoRun
        ? {
            rps: infoRps,
            ...pick(infoRun.result.latency),
            added_ms_over_envoy: infoEnvoy ? difference(pick(infoRun.result.latency), infoEnvoy.envoy_ms) : null,
            added_ms_over_tollgate_warn: infoEnvoy ? difference(pick(infoRun.result.latency), infoEnvoy.tollgate_ms) : null,
            errors: infoRun.result.errorCount,
            log_lines: infoLogLines,
            detail: runSummary(infoRun),
          }
        : null,
      target: { ...TARGET, met: targetMet, ok: targetMet ? targetMet.p50 && targetMet.p99 : null },
    };
    mkdirSync(resolve(OUT, '..'), { recursive: true });
    await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);

    // ── table
    write('\nLatency from scheduled send time, ms (p50 / p90 / p99)\n');
    const header = ['RPS', 'direct', 'Envoy', 'Envoy+Tollgate', 'added (T−E)', 'T/E', 'E/D', 'errors D/E/T'];
    const rows = runs.map((run) => [
      String(run.rps),
      triple(run.direct_ms), triple(run.envoy_ms), triple(run.tollgate_ms), triple(run.added_ms),
      triple(run.ratio_tollgate_over_envoy), triple(run.ratio_envoy_over_direct),
      `${run.errors.direct}/${run.errors.envoy}/${run.errors.tollgate}`,
    ]);
    for (const run of runs) {
      if (!run.noop_extproc_ms || !run.noop_extproc_added_ms) continue;
      rows.push([
        `${run.rps} noop`, '', triple(run.envoy_ms), triple(run.noop_extproc_ms), triple(run.noop_extproc_added_ms),
        triple(ratio(run.noop_extproc_ms, run.envoy_ms)), '', `−/−/${run.noop_extproc_detail?.errors ?? 0}`,
      ]);
    }
    if (results.tollgate_info_logging_ms && infoEnvoy) {
      const info = results.tollgate_info_logging_ms;
      rows.push([
        `${infoRps} info`, '', triple(infoEnvoy.envoy_ms), triple(info), triple(info.added_ms_over_envoy as Percentiles),
        triple(ratio(info, infoEnvoy.envoy_ms)), '', `−/−/${info.errors}`,
      ]);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
    const line = (cells: string[]) => `${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ')}\n`;
    write(line(header));
    for (const row of rows) write(line(row));
    if (targetRun && targetMet) {
      write(`\nTarget at ${TARGET.rps} RPS (added ≤ ${TARGET.p50_ms} ms p50, ≤ ${TARGET.p99_ms} ms p99): ` +
        `p50 +${fmt(targetRun.added_ms.p50)} ms ${targetMet.p50 ? 'MET' : 'MISSED'}, ` +
        `p99 +${fmt(targetRun.added_ms.p99)} ms ${targetMet.p99 ? 'MET' : 'MISSED'}\n`);
    } else {
      write(`\nTarget is defined at ${TARGET.rps} RPS, which was not run.\n`);
    }
    write(`Tollgate RSS: idle ${fmt(rssDetail.idle_before_load, 1)} MiB, peak under load ${fmt(rssDetail.peak_during_load, 1)} MiB, ` +
      `after load ${fmt(rssDetail.after_load, 1)} MiB (VmHWM ${fmt(rssDetail.vm_hwm, 1)})\n`);
    write(`Results: ${relative(projectRoot, OUT)}\n`);

    await Promise.all(pools.map((p) => p.close()));
  } finally {
    await cleanUp();
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function triple(p: Percentiles): string {
  return `${fmt(p.p50)} / ${fmt(p.p90)} / ${fmt(p.p99)}`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`overhead benchmark failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
