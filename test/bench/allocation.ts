/**
 * Garbage per request (issue 11): bytes the Tollgate process allocates per request with every stage on, at a fixed
 * rate with the realistic body, as V8's sampling heap profiler counts them (objects that die young included: what the
 * garbage collector has to handle), for an earlier commit and this tree in one run, with the top allocation sites.
 * Unlike CPU time, which drifts on this VM by ±15 % within minutes, the count does not depend on the machine's mood.
 *
 *   node_modules/.bin/node test/bench/allocation.ts      → test/bench/results/allocation.json
 *
 * Env: BENCH_BEFORE_REF=65541b2 BENCH_RATE=300 BENCH_SECONDS=10 BENCH_WARMUP_SECONDS=3 BENCH_OUT=FILE
 */
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startBenchRun } from './lib/bench-run.ts';
import { runLoadgen } from './lib/loadgen.ts';
import { tollgateServePid } from './lib/process-tree.ts';
import { ProcessGroup, startFakeProvider } from './lib/processes.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import { worktreeOf } from './lib/worktree.ts';
import type { ContenderSpec } from './peers/contender.ts';
import { CHANGE_REQUEST_BODY, MODEL } from './peers/bodies.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const env = process.env;
const BEFORE_REF = env.BENCH_BEFORE_REF ?? '65541b2';
const RATE = Number(env.BENCH_RATE ?? 300);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(env.BENCH_WARMUP_SECONDS ?? 3);
const OUT = resolve(env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/allocation.json'));
const SAMPLER = join(projectRoot, 'test/bench/lib/heap-sampler.mjs');
const PROVIDER_KEY = 'sk-bench-provider-key';
const write = (text: string) => process.stdout.write(text);

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[] }

/** Total sampled bytes and bytes by allocating function (package or file, name). */
function summarize(head: ProfileNode): { total: number; bySite: Map<string, number> } {
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: ProfileNode) => {
    if (node.selfSize) {
      total += node.selfSize;
      const frame = node.callFrame;
      const where = frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(dist\/)?(src|test)\//, '$2/');
      const site = `${frame.functionName || '(anonymous)'} ${where || '(native)'}${where ? `:${frame.lineNumber + 1}` : ''}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(head);
  return { total, bySite };
}


async function measure(label: string, root: string, fakeUrl: string, runDir: string) {
  const out = join(os.tmpdir(), `tollgate-heap-${label}-${process.pid}.json`);
  rmSync(out, { force: true });
  env.BENCH_TOLLGATE_NODE_OPTIONS = `--import ${SAMPLER}`;
  env.TOLLGATE_HEAP_SAMPLE_OUT = out;
  const { tollgateFull } = await import(join(root, 'test/bench/peers/tollgate.ts')) as { tollgateFull: ContenderSpec };
  const group = new ProcessGroup();
  try {
    const contender = await tollgateFull.start({ projectRoot: root, dir: join(runDir, label), group, peersDir: '', fake: { url: fakeUrl, apiKey: PROVIDER_KEY }, model: MODEL });
    const pid = tollgateServePid(contender.roots());
    const result = await runLoadgen({
      url: `${contender.origin}/v1/chat/completions`, mode: 'open', rate: RATE, durationMs: SECONDS * 1000, warmupMs: WARMUP_SECONDS * 1000,
      headers: contender.headers, body: CHANGE_REQUEST_BODY, unique: true, tag: `alloc-${label}`,
      onReady: () => void process.kill(pid, 'SIGUSR2'),
      onDone: () => void process.kill(pid, 'SIGUSR2'),
    });
    for (let waited = 0; !existsSync(out) && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const profile = JSON.parse(readFileSync(out, 'utf8')) as { head: ProfileNode };
    const { total, bySite } = summarize(profile.head);
    const answered = Math.max(1, result.ok);
    const kib = (bytes: number) => Math.round((bytes / 1024 / answered) * 100) / 100;
    const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([site, bytes]) => ({ site, kib_per_request: kib(bytes) }));
    return { label, answered, errors: result.errors, kib_per_request: kib(total), top_sites: top };
  } finally {
    await group.stopAll();
    rmSync(out, { force: true });
  }
}

async function main(): Promise<void> {
  const before = worktreeOf(projectRoot, BEFORE_REF);
  const run = await startBenchRun({ prefix: 'tollgate-allocation-', keepDir: false, write });
  try {
    const beforeRef = execFileSync('git', ['rev-parse', '--short', BEFORE_REF], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const afterRef = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const fake = run.group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    const results = [];
    for (const [label, root] of [['before', before.root], ['after', projectRoot]] as const) {
      const measured = await measure(label, root, fake.url, run.dir);
      results.push({ ...measured, ref: label === 'before' ? beforeRef : afterRef });
      write(`${label.padEnd(6)} ${label === 'before' ? beforeRef : afterRef}: ${measured.kib_per_request} KiB allocated per request (${measured.answered} requests, ${measured.errors} errors)\n`);
      for (const site of measured.top_sites.slice(0, 8)) write(`    ${site.kib_per_request.toFixed(2).padStart(7)} KiB  ${site.site}\n`);
    }
    const result = {
      date: new Date().toISOString(), machine: machineInfo(), versions: versions(projectRoot), command: commandLine(projectRoot),
      settings: { before_ref: beforeRef, after_ref: afterRef, rate: RATE, seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, body: CHANGE_REQUEST_BODY,
        method: 'V8 sampling heap profiler (4 KiB mean interval) in the Tollgate process over the measured phase, objects collected by minor and major GCs included; both trees from their .ts sources' },
      results,
    };
    await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
    write(`Results: ${OUT}\n`);
  } finally {
    await run.cleanUp();
    before.remove();
  }
}

await main();
