/**
 * Overhead benchmark: what Tollgate adds to a request, against the same zero-latency fake provider reached
 *   direct → fake, bare Envoy → fake, Envoy + Tollgate (ext_proc) → fake
 * with fixed-rate open-loop load (see lib/paced-load.ts), all measured in one run, plus Tollgate's RSS.
 *
 *   node test/bench/overhead.ts            (20 s per measured run; BENCH_SECONDS=5 for a smoke run)
 *
 * Env: BENCH_SECONDS (20), BENCH_WARMUP_SECONDS (3), BENCH_RATES (200,500), BENCH_INFO_LOGGING (1: the extra run
 * at the highest rate with per-request info logging), BENCH_TOLLGATE_NODE_OPTIONS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" to profile the Tollgate child), BENCH_OUT (results file).
 * Writes test/bench/results/overhead.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Pool } from 'undici';
import { stringify } from 'yaml';
import { envoyBinary } from '../../src/envoy/envoy-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { createPool, runPacedLoad, type PacedLoadResult } from './lib/paced-load.ts';
import { difference, pick, ratio, type Percentiles } from './lib/percentiles.ts';
import {
  ProcessGroup,
  RssSampler,
  readCpuSeconds,
  readMemoryMb,
  startEnvoyAt,
  startFakeProvider,
  startTollgateServe,
  writeBareEnvoyConfig,
  type RunningEnvoy,
  type WatchedProcess,
} from './lib/processes.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const RATES = (process.env.BENCH_RATES ?? '200,500').split(',').map(Number).filter((n) => n > 0);
const INFO_LOGGING = (process.env.BENCH_INFO_LOGGING ?? '1') !== '0';
const TOLLGATE_NODE_OPTIONS = process.env.BENCH_TOLLGATE_NODE_OPTIONS;
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

type TargetName = 'direct' | 'envoy' | 'tollgate';

interface Target {
  name: TargetName;
  label: string;
  pool: Pool;
  headers: Record<string, string>;
  /** Processes whose CPU time is reported for this target's runs. */
  pids: () => Record<string, number>;
}

interface MeasuredRun {
  target: TargetName;
  rps: number;
  result: PacedLoadResult;
  /** CPU used during the measured window, in % of one core. */
  cpu_pct: Record<string, number>;
}

const write = (text: string) => process.stdout.write(text);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

// ───────────────────────────────────────────────────────────────── setup

function tollgateConfig(options: {
  listenerPort: number; envoyAdminPort: number; extprocPort: number; adminPort: number;
  envoyDir: string; fakeUrl: string; logLevel: string;
}): string {
  return stringify({
    listener: { address: '127.0.0.1', port: options.listenerPort },
    envoy: {
      admin: { address: '127.0.0.1', port: options.envoyAdminPort },
      max_response_body_bytes: BUFFER_LIMIT_BYTES,
      config_dir: options.envoyDir,
    },
    extproc: { address: '127.0.0.1', port: options.extprocPort },
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

function machineInfo() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memory_gib: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function versions() {
  let envoy = 'unknown';
  try {
    const text = execFileSync(envoyBinary(projectRoot), ['--version'], { encoding: 'utf8' });
    envoy = /version: \S+?\/([^/\s]+)\//.exec(text)?.[1] ?? text.trim();
  } catch {
    // keep unknown
  }
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string; devDependencies?: Record<string, string> };
  return { node: process.version, envoy, tollgate: pkg.version, undici: pkg.devDependencies?.undici ?? 'unknown' };
}

// ───────────────────────────────────────────────────────────────── measuring

async function measure(target: Target, rps: number, seconds: number): Promise<MeasuredRun> {
  const pids = target.pids();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readCpuSeconds(pid)]));
  const selfBefore = process.cpuUsage();
  const startedAt = performance.now();
  const result = await runPacedLoad(target.pool, { path: PATH, headers: target.headers, body: REQUEST_BODY, rps, durationMs: seconds * 1000 });
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const self = process.cpuUsage(selfBefore);
  const cpu_pct: Record<string, number> = { generator: Math.round(((self.user + self.system) / 1e6 / wallSeconds) * 1000) / 10 };
  for (const [name, pid] of Object.entries(pids)) {
    cpu_pct[name] = Math.round(((readCpuSeconds(pid) - (before[name] as number)) / wallSeconds) * 1000) / 10;
  }
  return { target: target.name, rps, result, cpu_pct };
}

async function warmAndMeasure(target: Target, rps: number): Promise<MeasuredRun> {
  write(`  ${target.label.padEnd(18)} ${String(rps).padStart(4)} RPS: warm-up ${WARMUP_SECONDS} s… `);
  if (WARMUP_SECONDS > 0) await runPacedLoad(target.pool, { path: PATH, headers: target.headers, body: REQUEST_BODY, rps, durationMs: WARMUP_SECONDS * 1000 });
  write(`measuring ${SECONDS} s… `);
  const run = await measure(target, rps, SECONDS);
  const l = run.result.latency;
  write(`p50 ${fmt(l.p50)}  p90 ${fmt(l.p90)}  p99 ${fmt(l.p99)} ms, ${run.result.errorCount} errors, ` +
    `CPU ${Object.entries(run.cpu_pct).map(([k, v]) => `${k} ${v}%`).join(' ')}\n`);
  return run;
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
  };
}

// ───────────────────────────────────────────────────────────────── main

async function main(): Promise<void> {
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-bench-'));
  let cleaning = false;
  const cleanUp = async () => {
    if (cleaning) return;
    cleaning = true;
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    write(`\n${signal}: stopping…\n`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const machine = machineInfo();
    const versionInfo = versions();
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
      return group.add(await startTollgateServe({
        projectRoot, configPath, adminUrl: tollgateAdminUrl, env: tollgateEnv, logFile,
        ...(TOLLGATE_NODE_OPTIONS ? { nodeOptions: TOLLGATE_NODE_OPTIONS } : {}),
      }));
    };
    let tollgate = await startTollgate('warn', join(dir, 'tollgate-warn.log'));
    const gatewayEnvoy: RunningEnvoy = group.add(await startEnvoyAt(projectRoot, join(envoyDir, 'envoy.yaml'), ports.envoyAdminPort));

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
      },
      {
        name: 'tollgate', label: 'Envoy+Tollgate', pool: pool(`http://127.0.0.1:${ports.listenerPort}`),
        headers: { ...json, authorization: `Bearer ${VIRTUAL_KEY}` },
        pids: () => ({ fake: fake.pid, envoy: gatewayEnvoy.pid, tollgate: tollgate.pid }),
      },
    ];
    for (const target of targets) await smokeCheck(target);

    const idleRss = readMemoryMb(tollgate.pid)?.rss ?? Number.NaN;
    const rss = new RssSampler(tollgate.pid).start(250);
    const measured: MeasuredRun[] = [];
    for (const rps of RATES) {
      write(`\n${rps} RPS\n`);
      for (const target of targets) measured.push(await warmAndMeasure(target, rps));
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

    // ── results
    const byKey = (target: TargetName, rps: number) => measured.find((m) => m.target === target && m.rps === rps) as MeasuredRun;
    const runs = RATES.map((rps) => {
      const direct = byKey('direct', rps);
      const envoy = byKey('envoy', rps);
      const tollgateRun = byKey('tollgate', rps);
      const [d, e, t] = [direct, envoy, tollgateRun].map((m) => pick(m.result.latency)) as [Percentiles, Percentiles, Percentiles];
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
        measured_seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, rates: RATES, order: 'per rate: direct, envoy, tollgate',
        load: 'open loop, request i scheduled at t0 + i/rps, latency from the scheduled time (undici Pool, 128 connections, pipelining 1)',
        tollgate_logging: 'warn', envoy_concurrency: 2,
        bare_envoy: 'static listener → HTTP/1.1 cluster, router filter only (no buffer or ext_proc filter)',
        tollgate_stages: ['auth', 'validate', 'models', 'route', 'observe'],
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
