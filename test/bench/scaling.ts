/**
 * Scaling benchmark (issue 11): how Tollgate's max throughput grows with its processes. For each process count N,
 * Tollgate with every stage (the peer benchmark's tollgate-full: Redis store, policy, quota, cache, ledger) runs as N
 * `tollgate serve` processes behind one Envoy whose `extproc.endpoints` lists them all (peers/tollgate.ts,
 * tollgateFullWith(N)); the Go generator's closed loop with 50 connections measures what it completes per second
 * (errors counted), and /proc the CPU of each process group over the measured window: Tollgate (its processes summed,
 * and each alone), Envoy, Redis, the fake provider and the generator.
 *
 * Every set-up starts first and stays up (idle while the others are measured); the repetitions alternate the order
 * (1, 2, 3, then 3, 2, 1, …), so a slow drift of the machine does not favour one count, and the table gives medians.
 *
 *   node_modules/.bin/node test/bench/scaling.ts   → test/bench/results/scaling.json (npm run bench:scaling)
 *
 * Env (all optional):
 *   BENCH_SCALING_PROCESSES=1,2,3   the process counts
 *   BENCH_MAX_SECONDS=10 BENCH_MAX_WARMUP_SECONDS=2 BENCH_MAX_CONNECTIONS=50 BENCH_REPS=3   each closed-loop run
 *   BENCH_MAX_FOREIGN_CPU=10 BENCH_QUIET_TIMEOUT_S=120   wait for a quiet machine before each run
 *   BENCH_OUT=FILE  BENCH_KEEP_DIR=1
 */
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { startBenchRun } from './lib/bench-run.ts';
import { goVersion, loadgenBinary, runLoadgen, toClosedLoadResult } from './lib/loadgen.ts';
import { processTrees, processTreesByName, rssOfMb } from './lib/process-tree.ts';
import { startFakeProvider, waitForQuiet } from './lib/processes.ts';
import { metered, waitUntilIdle } from './lib/resource-meter.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import { buildScalingResults, scalingMarkdown, scalingRun, TOLLGATE_PROCESS_GROUP, type ScalingRun } from './lib/scaling-report.ts';
import { BODY_TEMPLATES, fillBody, MODEL } from './peers/bodies.ts';
import type { Contender, StartContext } from './peers/contender.ts';
import { tollgateFullWith } from './peers/tollgate.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const env = process.env;
const numberEnv = (name: string, fallback: number) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
const PROCESSES = [...new Set((env.BENCH_SCALING_PROCESSES ?? '1,2,3').split(',').map(Number))]
  .filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
const SECONDS = numberEnv('BENCH_MAX_SECONDS', 10);
const WARMUP_SECONDS = numberEnv('BENCH_MAX_WARMUP_SECONDS', 2);
const CONNECTIONS = numberEnv('BENCH_MAX_CONNECTIONS', 50);
const REPS = Math.max(1, numberEnv('BENCH_REPS', 3));
const MAX_FOREIGN_CPU_PCT = numberEnv('BENCH_MAX_FOREIGN_CPU', 10);
const QUIET_TIMEOUT_MS = numberEnv('BENCH_QUIET_TIMEOUT_S', 120) * 1000;
const OUT = resolve(env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/scaling.json'));
const KEEP_DIR = env.BENCH_KEEP_DIR === '1';
/** The defaults; anything shorter or different is a trial whose figures are not for publishing. */
const TRIAL = SECONDS < 10 || REPS < 3 || CONNECTIONS !== 50 || PROCESSES.join(',') !== '1,2,3';

const PROVIDER_KEY = 'sk-bench-provider-key';
const PATH = '/v1/chat/completions';
/** The peer benchmark's realistic body (a system message, a unique prompt, max_tokens, user): every cache lookup misses. */
const BODY = BODY_TEMPLATES.realistic;

const write = (text: string) => process.stdout.write(text);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Six characters, so that every run's bodies have the same length. */
const runTag = Math.random().toString(36).slice(2, 8).padEnd(6, '0');

let ourPids: () => number[] = () => [];
let fakePid = 0;

/** Three requests must answer 200 through the gateway, and the contender must recognise its own answer. */
async function smokeCheck(contender: Contender): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${contender.origin}${PATH}`, { method: 'POST', headers: contender.headers, body: fillBody(BODY, `smoke${runTag}`, i) });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`smoke request answered ${response.status}: ${text.slice(0, 300)}`);
    const problem = contender.verify?.(Object.fromEntries(response.headers));
    if (problem) throw new Error(problem);
  }
}

/** One closed-loop run: warm-up, wait for the gateway to work off its backlog, then the measured window. */
async function measure(contender: Contender, processes: number, rep: number): Promise<ScalingRun> {
  const gateway = contender.processes?.() ?? { tollgate: contender.roots() };
  const tollgatePids = gateway.tollgate ?? [];
  let generatorPid = 0;
  let tollgateRssMb = 0;
  // Each Tollgate process alone too (tollgate#1…), to see how evenly Envoy spreads the ext_proc streams.
  const groups = () => ({
    ...processTreesByName({
      ...gateway,
      fake: [fakePid],
      ...Object.fromEntries(tollgatePids.map((pid, i) => [`${TOLLGATE_PROCESS_GROUP}${i + 1}`, [pid]])),
    }),
    generator: [generatorPid],
  });
  const { result, resources } = await metered(contender.roots, ourPids, (marks) => runLoadgen({
    url: `${contender.origin}${PATH}`, mode: 'closed', connections: CONNECTIONS,
    durationMs: SECONDS * 1000, warmupMs: WARMUP_SECONDS * 1000,
    headers: contender.headers, body: BODY, unique: true, tag: `${runTag}.${processes}p.${rep}`,
    onReady: async (pid) => {
      generatorPid = pid;
      await waitUntilIdle(contender.roots);
      marks.start();
    },
    onDone: () => {
      marks.end();
      tollgateRssMb = rssOfMb(processTrees(tollgatePids));
    },
  }).then(toClosedLoadResult), { marked: true, processes: groups });
  return scalingRun({ processes, rep, result, resources, tollgateRssMb });
}

async function main(): Promise<void> {
  if (!PROCESSES.length) throw new Error('BENCH_SCALING_PROCESSES names no process count');
  const { group, dir, cleanUp } = await startBenchRun({ prefix: 'tollgate-scaling-', keepDir: KEEP_DIR, write });
  try {
    const machine = machineInfo();
    write(`Scaling benchmark: ${machine.cores} cores (${machine.model}), ${machine.memory_gib} GiB; Tollgate (every stage) with ` +
      `${PROCESSES.join(', ')} processes; ${CONNECTIONS} connections, ${SECONDS} s × ${REPS} reps` +
      `${TRIAL ? ' — TRIAL settings, figures not for publishing' : ''}\n`);
    write(`load generator: Go (test/bench/loadgen, ${relative(projectRoot, loadgenBinary())}); body ${Buffer.byteLength(fillBody(BODY, `${runTag}.1p.1`, 0))} bytes\n`);
    const fake = group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    fakePid = fake.pid;
    const ctx: StartContext = { projectRoot, dir, group, peersDir: '', fake: { url: fake.url, apiKey: PROVIDER_KEY }, model: MODEL };

    const running = new Map<number, Contender>();
    const unavailable: Record<number, string> = {};
    for (const processes of PROCESSES) {
      const spec = tollgateFullWith(processes);
      write(`starting ${spec.name}… `);
      try {
        const contender = await spec.start(ctx);
        await smokeCheck(contender);
        running.set(processes, contender);
        write(`${contender.label} at ${contender.origin}\n`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        unavailable[processes] = message;
        write(`COULD NOT RUN: ${message.split('\n').slice(0, 6).join('\n    ')}\n`);
      }
    }
    if (!running.size) throw new Error('no process count could run');
    ourPids = () => processTrees([process.pid, fake.pid, ...[...running.values()].flatMap((c) => c.roots())]).filter((pid) => pid !== process.pid);
    await sleep(2000);

    const runs: ScalingRun[] = [];
    const counts = [...running.keys()];
    for (let rep = 1; rep <= REPS; rep++) {
      write(`\nrepetition ${rep}/${REPS}\n`);
      for (const processes of rep % 2 ? counts : [...counts].reverse()) {
        const contender = running.get(processes) as Contender;
        write(`  ${String(processes).padStart(2)} process${processes === 1 ? ' ' : 'es'}: `);
        const waited = await waitForQuiet(ourPids, MAX_FOREIGN_CPU_PCT, QUIET_TIMEOUT_MS);
        if (waited.waitedMs > 1500) write(`(waited ${(waited.waitedMs / 1000).toFixed(0)} s for a quiet machine${waited.quiet ? '' : ', gave up'}) `);
        const run = await measure(contender, processes, rep);
        runs.push(run);
        const perRequest = Object.entries(run.cpu_s).map(([name, seconds]) => `${name} ${run.ok ? ((seconds * 1000) / run.ok).toFixed(3) : '—'}`).join(', ');
        write(`${fmt(run.rps, 0)} RPS, ${run.errors} errors, p50 ${fmt(run.latency_ms.p50)} p99 ${fmt(run.latency_ms.p99)} ms; CPU ms/request ${perRequest}` +
          `${run.tollgate_cpu_s_by_process.length > 1 ? `; Tollgate CPU s by process ${run.tollgate_cpu_s_by_process.map((s) => s.toFixed(2)).join(' / ')}` : ''}` +
          `${run.foreign_cpu_pct > MAX_FOREIGN_CPU_PCT ? `; others ${run.foreign_cpu_pct}% of a core` : ''}\n`);
        if (run.error_detail?.samples[0]) write(`    first error: ${run.error_detail.samples[0].slice(0, 200)}\n`);
        await waitUntilIdle(contender.roots);
      }
    }

    const results = buildScalingResults({
      date: new Date().toISOString(),
      trial: TRIAL,
      machine,
      versions: { ...versions(projectRoot), go: goVersion() },
      command: commandLine(projectRoot),
      settings: {
        processes: PROCESSES,
        connections: CONNECTIONS,
        seconds: SECONDS,
        warmup_seconds: WARMUP_SECONDS,
        repetitions: REPS,
        max_foreign_cpu_pct: MAX_FOREIGN_CPU_PCT,
        generator: `Go generator (test/bench/loadgen, ${goVersion()})`,
        load: 'closed loop: each connection sends the next request when the last answer is read; after the warm-up the gateway works off its backlog, then the measured window starts',
        order: 'every set-up runs throughout (idle while another is measured); repetitions alternate the order of the process counts',
        body: { bytes: Buffer.byteLength(fillBody(BODY, `${runTag}.1p.1`, 0)), example: fillBody(BODY, `${runTag}.1p.1`, 0) },
        cpu: 'user + system CPU seconds from /proc/<pid>/stat at the start and end of the measured window, per group: tollgate (every Tollgate process summed; tollgate_cpu_s_by_process each alone), envoy, redis, fake, generator',
      },
      setups: Object.fromEntries([...running].map(([processes, contender]) => [processes, { label: contender.label, ...contender.setup }])),
      unavailable,
      runs,
    });
    mkdirSync(resolve(OUT, '..'), { recursive: true });
    await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
    write(`\n${scalingMarkdown(results)}\n\nResults: ${OUT.startsWith(`${projectRoot}/`) ? relative(projectRoot, OUT) : OUT}\n`);
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`scaling benchmark failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
