/**
 * Before/after (issue 11): Tollgate with every stage, as built from an earlier commit and from this tree, measured
 * alternately in one run on this machine: CPU ms per request of each process (Tollgate, Envoy, Redis, and the fake
 * and the generator as controls), latency and RSS, at fixed rates with the Go generator and the realistic body.
 * The earlier commit is checked out into a temporary git worktree that shares this tree's installed tools
 * (node_modules, .venv, .tools, generated types), and each tree starts its own contender with its own code.
 *
 *   node_modules/.bin/node test/bench/before-after.ts      → test/bench/results/before-after.json (npm run bench:before-after)
 *
 * Env: BENCH_BEFORE_REF=0689378 (the commit before issue 11's work) BENCH_RATES=500 BENCH_SECONDS=20
 *      BENCH_WARMUP_SECONDS=3 BENCH_REPS=2 BENCH_OUT=FILE
 *
 * Per-request CPU on this VM falls as the rate rises (waking an idle process is expensive here), so the two trees
 * are only ever compared at the same rate, and the fake provider's CPU per request is the control: it does the same
 * work for both.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startBenchRun } from './lib/bench-run.ts';
import { worktreeOf } from './lib/worktree.ts';
import { runLoadgen } from './lib/loadgen.ts';
import { cpuSecondsOf, processTrees, rssOfMb, syscallsOf } from './lib/process-tree.ts';
import { ProcessGroup, startFakeProvider } from './lib/processes.ts';
import { readFileSync } from 'node:fs';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import type { Contender, ContenderSpec } from './peers/contender.ts';
import { CHANGE_REQUEST_BODY, MODEL } from './peers/bodies.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const env = process.env;
const BEFORE_REF = env.BENCH_BEFORE_REF ?? '0689378';
const RATES = (env.BENCH_RATES ?? '500').split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(env.BENCH_WARMUP_SECONDS ?? 3);
const REPS = Math.max(1, Number(env.BENCH_REPS ?? 2));
const OUT = resolve(env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/before-after.json'));
const PROVIDER_KEY = 'sk-bench-provider-key';

const write = (text: string) => process.stdout.write(text);
const round3 = (n: number) => Math.round(n * 1000) / 1000;

interface Tree { label: string; ref: string; root: string }

/** Each tree's own contender code starts its own Tollgate (bin/tollgate of that tree) and Envoy. */
async function tollgateFullOf(tree: Tree): Promise<ContenderSpec> {
  const module = await import(join(tree.root, 'test/bench/peers/tollgate.ts')) as { tollgateFull: ContenderSpec };
  return module.tollgateFull;
}

interface Sample {
  tree: string; rate: number; rep: number;
  p50_ms: number; p99_ms: number; errors: number; answered: number;
  cpu_ms_per_request: Record<string, number>;
  /** Read and write system calls per answered request, per program (deterministic where CPU time is not). */
  syscalls_per_request: Record<string, { reads: number; writes: number }>;
  rss_mb: Record<string, number>;
}

async function measure(tree: Tree, contender: Contender, fakePid: number, rate: number, rep: number): Promise<Sample> {
  // Grouped by program rather than by the contender's own grouping, which the earlier tree may not have.
  const expanded: Record<string, number[]> = { fake: processTrees([fakePid]) };
  for (const pid of processTrees(contender.roots())) {
    const name = programOf(pid);
    (expanded[name] ??= []).push(pid);
  }
  let before: Record<string, number> = {};
  let after: Record<string, number> = {};
  let rss: Record<string, number> = {};
  let ioBefore: Record<string, { reads: number; writes: number }> = {};
  let ioAfter: Record<string, { reads: number; writes: number }> = {};
  const out = await runLoadgen({
    url: `${contender.origin}/v1/chat/completions`, mode: 'open', rate, durationMs: SECONDS * 1000, warmupMs: WARMUP_SECONDS * 1000,
    headers: contender.headers, body: CHANGE_REQUEST_BODY, unique: true, tag: `${tree.label}${rate}r${rep}`,
    onReady: () => {
      before = Object.fromEntries(Object.entries(expanded).map(([name, pids]) => [name, cpuSecondsOf(pids)]));
      ioBefore = Object.fromEntries(Object.entries(expanded).map(([name, pids]) => [name, syscallsOf(pids)]));
    },
    onDone: () => {
      after = Object.fromEntries(Object.entries(expanded).map(([name, pids]) => [name, cpuSecondsOf(pids)]));
      ioAfter = Object.fromEntries(Object.entries(expanded).map(([name, pids]) => [name, syscallsOf(pids)]));
      rss = Object.fromEntries(Object.entries(expanded).map(([name, pids]) => [name, Math.round(rssOfMb(pids))]));
    },
  });
  const answered = Math.max(1, out.ok);
  const cpu = Object.fromEntries(Object.keys(expanded).map((name) => [name, round3(((after[name] ?? 0) - (before[name] ?? 0)) * 1000 / answered)]));
  cpu.generator = round3(out.cpu_ms_per_request);
  const syscalls = Object.fromEntries(Object.keys(expanded).map((name) => [name, {
    reads: round3(((ioAfter[name]?.reads ?? 0) - (ioBefore[name]?.reads ?? 0)) / answered),
    writes: round3(((ioAfter[name]?.writes ?? 0) - (ioBefore[name]?.writes ?? 0)) / answered),
  }]));
  return {
    tree: tree.label, rate, rep, p50_ms: round3(out.latency_ms.p50 ?? Number.NaN), p99_ms: round3(out.latency_ms.p99 ?? Number.NaN),
    errors: out.errors, answered: out.ok, cpu_ms_per_request: cpu, syscalls_per_request: syscalls, rss_mb: rss,
  };
}

const PROGRAMS: Record<string, string> = { envoy: 'envoy', 'redis-server': 'redis', MainThread: 'tollgate', node: 'tollgate' };

function programOf(pid: number): string {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return PROGRAMS[comm] ?? comm;
  } catch {
    return 'gone';
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const before = worktreeOf(projectRoot, BEFORE_REF);
  const run = await startBenchRun({ prefix: 'tollgate-before-after-', keepDir: false, write });
  const samples: Sample[] = [];
  try {
    const beforeRef = execFileSync('git', ['rev-parse', '--short', BEFORE_REF], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const afterRef = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const trees: Tree[] = [{ label: 'before', ref: beforeRef, root: before.root }, { label: 'after', ref: afterRef, root: projectRoot }];
    const fake = run.group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    for (const rate of RATES) {
      for (let rep = 1; rep <= REPS; rep++) {
        // Alternate the order, so neither tree always runs on a machine warmed by the other.
        for (const tree of rep % 2 ? trees : [...trees].reverse()) {
          const spec = await tollgateFullOf(tree);
          const dir = join(run.dir, `${tree.label}-${rate}-${rep}`);
          const group = new ProcessGroup();
          try {
            const contender = await spec.start({
              projectRoot: tree.root, dir, group, peersDir: '', fake: { url: fake.url, apiKey: PROVIDER_KEY }, model: MODEL,
            });
            const sample = await measure(tree, contender, fake.pid, rate, rep);
            samples.push(sample);
            write(`${tree.label.padEnd(6)} ${tree.ref} ${rate} RPS #${rep}: p50 ${sample.p50_ms} p99 ${sample.p99_ms} ms, ${sample.errors} errors, ` +
              `CPU ms/request ${JSON.stringify(sample.cpu_ms_per_request)}\n`);
          } finally {
            await group.stopAll();
          }
        }
      }
    }
    const summary = RATES.map((rate) => {
      const of = (label: string) => samples.filter((s) => s.tree === label && s.rate === rate);
      const med = (label: string, pick: (s: Sample) => number) => round3(median(of(label).map(pick)));
      const names = [...new Set(samples.flatMap((s) => Object.keys(s.cpu_ms_per_request)))];
      const cpu = Object.fromEntries(names.map((name) => [name, {
        before: med('before', (s) => s.cpu_ms_per_request[name] ?? Number.NaN),
        after: med('after', (s) => s.cpu_ms_per_request[name] ?? Number.NaN),
      }]));
      return {
        rate,
        cpu_ms_per_request: cpu,
        tollgate_ratio_after_to_before: round3((cpu.tollgate?.after ?? Number.NaN) / (cpu.tollgate?.before ?? Number.NaN)),
        syscalls_per_request: Object.fromEntries(names.filter((name) => name !== 'generator').map((name) => [name, {
          before: { reads: med('before', (s) => s.syscalls_per_request[name]?.reads ?? Number.NaN), writes: med('before', (s) => s.syscalls_per_request[name]?.writes ?? Number.NaN) },
          after: { reads: med('after', (s) => s.syscalls_per_request[name]?.reads ?? Number.NaN), writes: med('after', (s) => s.syscalls_per_request[name]?.writes ?? Number.NaN) },
        }])),
        p50_ms: { before: med('before', (s) => s.p50_ms), after: med('after', (s) => s.p50_ms) },
        p99_ms: { before: med('before', (s) => s.p99_ms), after: med('after', (s) => s.p99_ms) },
        rss_tollgate_mb: { before: med('before', (s) => s.rss_mb.tollgate ?? Number.NaN), after: med('after', (s) => s.rss_mb.tollgate ?? Number.NaN) },
      };
    });
    const result = {
      date: new Date().toISOString(), machine: machineInfo(), versions: versions(projectRoot), command: commandLine(projectRoot),
      settings: { before_ref: beforeRef, after_ref: afterRef, rates: RATES, seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, reps: REPS, body: CHANGE_REQUEST_BODY },
      summary, samples,
    };
    await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
    for (const row of summary) write(`${row.rate} RPS median: ${JSON.stringify(row)}\n`);
    write(`Results: ${OUT}\n`);
  } finally {
    await run.cleanUp();
    before.remove();
  }
}

await main();
