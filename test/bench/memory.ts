/**
 * Tollgate's own memory (issue 11's target: ≤ 120 MiB idle, ≤ 200 MiB under load): the RSS of the Tollgate process
 * alone (the peer benchmark sums each contender's process tree, Envoy and Redis included), with every stage on, idle
 * after start and a few requests, and its peak (250 ms samples) at a fixed rate with the realistic body and unique
 * prompts. Tollgate runs as the container image runs it (the compiled JavaScript, built here) and, for comparison,
 * from the .ts sources through bin/tollgate.
 *
 *   node_modules/.bin/node test/bench/memory.ts      → test/bench/results/memory.json
 *
 * Env: BENCH_RATE=500 BENCH_SECONDS=20 BENCH_REPS=2 BENCH_OUT=FILE
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startBenchRun } from './lib/bench-run.ts';
import { runLoadgen } from './lib/loadgen.ts';
import { rssOfMb, tollgateServePid } from './lib/process-tree.ts';
import { buildDist, ProcessGroup, startFakeProvider } from './lib/processes.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import { tollgateFull } from './peers/tollgate.ts';
import { CHANGE_REQUEST_BODY, MODEL } from './peers/bodies.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const env = process.env;
const RATE = Number(env.BENCH_RATE ?? 500);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const REPS = Math.max(1, Number(env.BENCH_REPS ?? 2));
const OUT = resolve(env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/memory.json'));
const PROVIDER_KEY = 'sk-bench-provider-key';
const write = (text: string) => process.stdout.write(text);
const round1 = (n: number) => Math.round(n * 10) / 10;


async function measure(runFrom: 'dist' | 'src', rep: number, fakeUrl: string, dir: string) {
  env.BENCH_TOLLGATE_RUN = runFrom;
  const group = new ProcessGroup();
  try {
    const contender = await tollgateFull.start({ projectRoot, dir: join(dir, `${runFrom}-${rep}`), group, peersDir: '', fake: { url: fakeUrl, apiKey: PROVIDER_KEY }, model: MODEL });
    const pid = tollgateServePid(contender.roots());
    // A few requests first: idle means started and warmed, as a gateway waits between bursts.
    for (let i = 0; i < 20; i++) {
      await fetch(`${contender.origin}/v1/chat/completions`, { method: 'POST', headers: contender.headers, body: CHANGE_REQUEST_BODY.replace('{{n}}', `idle-${i}`) }).then((r) => r.arrayBuffer());
    }
    await new Promise((r) => setTimeout(r, 2000));
    const idle = rssOfMb([pid]);
    let peak = idle;
    const sampler = setInterval(() => { peak = Math.max(peak, rssOfMb([pid])); }, 250);
    const out = await runLoadgen({
      url: `${contender.origin}/v1/chat/completions`, mode: 'open', rate: RATE, durationMs: SECONDS * 1000, warmupMs: 3000,
      headers: contender.headers, body: CHANGE_REQUEST_BODY, unique: true, tag: `memory-${runFrom}-${rep}`,
    });
    clearInterval(sampler);
    peak = Math.max(peak, rssOfMb([pid]));
    return { run_from: runFrom, rep, idle_mb: round1(idle), load_peak_mb: round1(peak), answered: out.ok, errors: out.errors };
  } finally {
    await group.stopAll();
  }
}

async function main(): Promise<void> {
  write('building Tollgate (npm run build)\n');
  buildDist(projectRoot);
  const run = await startBenchRun({ prefix: 'tollgate-memory-', keepDir: false, write });
  try {
    const fake = run.group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    const samples: Array<Awaited<ReturnType<typeof measure>>> = [];
    for (let rep = 1; rep <= REPS; rep++) {
      for (const runFrom of rep % 2 ? (['dist', 'src'] as const) : (['src', 'dist'] as const)) {
        const sample = await measure(runFrom, rep, fake.url, run.dir);
        samples.push(sample);
        write(`${runFrom.padEnd(4)} #${rep}: Tollgate RSS idle ${sample.idle_mb} MiB, peak at ${RATE} RPS ${sample.load_peak_mb} MiB (${sample.answered} answered, ${sample.errors} errors)\n`);
      }
    }
    const worst = (runFrom: string, key: 'idle_mb' | 'load_peak_mb') => Math.max(...samples.filter((s) => s.run_from === runFrom).map((s) => s[key]));
    const summary = Object.fromEntries(['dist', 'src'].map((runFrom) => [runFrom, { idle_mb_max: worst(runFrom, 'idle_mb'), load_peak_mb_max: worst(runFrom, 'load_peak_mb') }]));
    const result = {
      date: new Date().toISOString(), machine: machineInfo(), versions: versions(projectRoot), command: commandLine(projectRoot),
      settings: { rate: RATE, seconds: SECONDS, reps: REPS, body: CHANGE_REQUEST_BODY, stages: 'every stage (peers/tollgate-stages.ts), Redis store, SQLite ledger', target: { idle_mb: 120, load_mb: 200 } },
      summary, samples,
    };
    await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
    write(`worst of ${REPS}: ${JSON.stringify(summary)}\nResults: ${OUT}\n`);
  } finally {
    await run.cleanUp();
  }
}

await main();
