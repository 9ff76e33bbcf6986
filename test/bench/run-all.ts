/**
 * `npm run bench`: every benchmark, one after the other (they all need the machine to themselves), then
 * test/bench/RESULTS.md from every test/bench/results/*.json.
 *
 *   node_modules/.bin/node test/bench/run-all.ts              run them all, write RESULTS.md
 *   node_modules/.bin/node test/bench/run-all.ts --report     only rewrite RESULTS.md from the results files
 *
 * The benchmarks are the test/bench/*.ts files except the tools listed in NOT_BENCHMARKS; the expected ones are named
 * in EXPECTED so that a missing one is reported rather than silently skipped. BENCH_* variables pass through to each
 * (e.g. BENCH_SECONDS=5 for a short trial of everything), except BENCH_OUT, which would make them overwrite one file.
 *   BENCH_ONLY=peers,overhead   run only these (by file name without .ts)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { resultsMarkdown, type BenchmarkRun } from './lib/results-markdown.ts';
import { machineInfo } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const benchDir = import.meta.dirname;
const resultsDir = join(benchDir, 'results');
const OUT = join(benchDir, 'RESULTS.md');

/** Files in test/bench that are tools, not benchmarks. */
const NOT_BENCHMARKS = new Set(['run-all.ts', 'profile-summary.ts']);
/** Benchmarks this run should find, in running order (peers first: it is the one the README quotes). */
const EXPECTED = ['peers', 'scaling', 'overhead', 'policy', 'quota', 'cache-speed', 'semantic-cache', 'translation'];
/** What a benchmark needs done first. */
const PREPARE: Record<string, string[]> = {
  policy: ['scripts/policy-build'],
};

const write = (text: string) => process.stdout.write(text);

function discover(): string[] {
  const present = readdirSync(benchDir).filter((file) => file.endsWith('.ts') && !NOT_BENCHMARKS.has(file)).map((file) => basename(file, '.ts'));
  const ordered = [...EXPECTED, ...present.filter((name) => !EXPECTED.includes(name)).sort()];
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
  // A name that matches no file is kept, so that it is reported as missing rather than silently ignored.
  return only ? [...ordered.filter((name) => only.includes(name)), ...only.filter((name) => !ordered.includes(name))] : ordered;
}

function run(name: string): BenchmarkRun {
  const file = join(benchDir, `${name}.ts`);
  const command = `node_modules/.bin/node ${relative(projectRoot, file)}`;
  if (!existsSync(file)) {
    write(`\n── ${name}: skipped, ${relative(projectRoot, file)} is not there\n`);
    return { name, command, status: 'missing', detail: `${relative(projectRoot, file)} not found` };
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(projectRoot, 'node_modules/.bin')}:${process.env.PATH ?? ''}` };
  delete env.BENCH_OUT;
  for (const step of PREPARE[name] ?? []) {
    const prepared = spawnSync(join(projectRoot, step), [], { cwd: projectRoot, env, stdio: 'inherit' });
    if (prepared.status !== 0) return { name, command, status: 'failed', detail: `${step} failed` };
  }
  write(`\n── ${name}: ${command}\n`);
  const started = performance.now();
  const result = spawnSync(join(projectRoot, 'node_modules/.bin/node'), [file], { cwd: projectRoot, env, stdio: 'inherit' });
  const seconds = (performance.now() - started) / 1000;
  const ok = result.status === 0;
  write(`── ${name}: ${ok ? 'done' : `FAILED (exit ${result.status ?? result.signal})`} in ${Math.round(seconds)} s\n`);
  return { name, command, status: ok ? 'ok' : 'failed', seconds, ...(ok ? {} : { detail: `exit ${result.status ?? result.signal}` }) };
}

function main(): number {
  const reportOnly = process.argv.includes('--report');
  const passedEnv = Object.entries(process.env).filter(([key]) => key.startsWith('BENCH_') && key !== 'BENCH_OUT').map(([key, value]) => `${key}=${value} `).join('');
  const runs = reportOnly ? [] : discover().map(run);
  const commands = reportOnly
    ? ['npm run bench (test/bench/run-all.ts); this file was rewritten with --report from the existing results']
    : [`${passedEnv}npm run bench`, ...runs.filter((r) => r.status !== 'missing').map((r) => `${passedEnv}${r.command}`)];
  writeFileSync(OUT, resultsMarkdown(resultsDir, { date: new Date().toISOString(), machine: machineInfo(), runs, commands }));
  write(`\n${relative(projectRoot, OUT)} written from ${relative(projectRoot, resultsDir)}/*.json\n`);
  const failed = runs.filter((r) => r.status === 'failed');
  if (failed.length) write(`failed: ${failed.map((r) => r.name).join(', ')}\n`);
  return failed.length ? 1 : 0;
}

process.exit(main());
