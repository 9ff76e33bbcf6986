/**
 * o200k_base token counting: Tollgate's compact counter (src/tokenizer/) against gpt-tokenizer, the library it
 * replaced on the request path (estimates for quota reservations, count_tokens, context-window routing, delivered
 * tokens of cut streams).
 *  - memory added by loading each (import and a first count, which loads the ranks), in a fresh node process per
 *    measurement with the gateway's heap flags, after forced garbage collections: RSS, V8 heap used, and memory
 *    outside the heap (external, incl. array buffers); the median of BENCH_REPS processes. The compact counter is
 *    imported as JavaScript (types stripped here, as the Docker image runs compiled code), with the rank binary that
 *    setup/build generate, and once without it (the fallback that builds the table from gpt-tokenizer's rank file);
 *  - the time from import to the end of the first count (what the first request pays);
 *  - throughput counting ~20k-token texts, both counters in this process, as CPU-time medians over batches
 *    (lib/cpu-timing.ts): "mixed" (English, Vietnamese, Chinese, code, JSON, emoji, digits; snippets repeated, as
 *    prompts repeat themselves), "english" (one paragraph repeated) and "varied" (seeded pseudo-words in Latin,
 *    Vietnamese, Cyrillic and Chinese letters and digits: little repetition, so piece caches help little).
 *
 *   node_modules/.bin/node test/bench/tokenizer.ts     → test/bench/results/tokenizer.json
 *   BENCH_REPS=3 BENCH_OUT=FILE                         (optional)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { timePerRun } from './lib/cpu-timing.ts';
import { machineInfo } from './lib/run-info.ts';
import { encodeRankTable, rankTableFromTiktokenFile } from '../../src/tokenizer/o200k-ranks.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const REPS = Number(process.env.BENCH_REPS ?? 3);
const OUT = process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/tokenizer.json');
/** The gateway's heap flags (package.json "start", bin/tollgate, Dockerfile), since they change what RSS keeps. */
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=100'];

type Counter = 'compact' | 'compact-no-binary' | 'gpt-tokenizer' | 'none';
/** Where the compact counter's modules are written as JavaScript for the child processes (git-ignored). */
const JS_DIR = join(projectRoot, 'test/bench/.bin/tokenizer-js');
const TOKENIZER_MODULES = ['o200k-count', 'o200k-ranks', 'o200k-split'];

/** src/tokenizer/ as JavaScript in JS_DIR/with-binary (plus the rank binary) and JS_DIR/without-binary. */
function writeCompactJs(): void {
  rmSync(JS_DIR, { recursive: true, force: true });
  const binary = encodeRankTable(rankTableFromTiktokenFile());
  for (const variant of ['with-binary', 'without-binary']) {
    const dir = join(JS_DIR, variant);
    mkdirSync(dir, { recursive: true });
    for (const name of TOKENIZER_MODULES) {
      const source = readFileSync(join(projectRoot, 'src/tokenizer', `${name}.ts`), 'utf8');
      writeFileSync(join(dir, `${name}.js`), stripTypeScriptTypes(source).replaceAll(/from '\.\/([\w-]+)\.ts'/g, "from './$1.js'"));
    }
    if (variant === 'with-binary') writeFileSync(join(dir, 'o200k_base.ranks'), binary);
  }
  writeFileSync(join(JS_DIR, 'first-import.js'), 'export const first = true;\n');
}

async function loadCounter(which: Counter): Promise<(text: string) => number> {
  if (which === 'compact' || which === 'compact-no-binary') {
    const dir = join(JS_DIR, which === 'compact' ? 'with-binary' : 'without-binary');
    return ((await import(join(dir, 'o200k-count.js'))) as typeof import('../../src/tokenizer/o200k-count.ts')).countO200kTokens;
  }
  if (which === 'gpt-tokenizer') {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    const options = { disallowedSpecial: new Set<string>() };
    return (text) => countTokens(text, options);
  }
  return (text) => text.length;
}

interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

function settledMemory(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the child with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

/** Child mode: one load of one counter in this fresh process; prints what it added. */
async function child(which: Counter): Promise<void> {
  // A process's first dynamic import sets up the module loader (MBs); that is not the counters' to pay.
  await import(join(JS_DIR, 'first-import.js'));
  const before = settledMemory();
  const started = performance.now();
  const count = await loadCounter(which);
  count('Hello, world! Xin chào 你好 👋');
  const firstCountMs = performance.now() - started;
  const after = settledMemory();
  process.stdout.write(
    JSON.stringify({
      rss_mb: (after.rss - before.rss) / 1e6,
      heap_used_mb: (after.heapUsed - before.heapUsed) / 1e6,
      external_mb: (after.external - before.external) / 1e6,
      rss_after_mb: after.rss / 1e6,
      first_count_ms: firstCountMs,
    }),
  );
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function measureLoad(which: Counter): Record<string, number> {
  const samples: Array<Record<string, number>> = [];
  for (let i = 0; i < REPS; i++) {
    const output = execFileSync(process.execPath, [...GATEWAY_NODE_FLAGS, '--expose-gc', import.meta.filename, 'child', which], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    samples.push(JSON.parse(output) as Record<string, number>);
  }
  const keys = Object.keys(samples[0]!);
  return Object.fromEntries(keys.map((key) => [key, round(median(samples.map((sample) => sample[key]!)))]));
}

const MIXED_SNIPPETS = [
  'The gateway reserves tokens before a request reaches the provider and settles the difference afterwards. ',
  "It's what we'd expect: a longer prompt costs more, and a cached answer costs nothing at all.\n\n",
  'Tiếng Việt có dấu: Người ta nói rằng học tập là một hành trình dài, không có điểm kết thúc. ',
  '人工智能正在改变世界。我们需要确保它的发展是安全和有益的。',
  'function add(a: number, b: number): number {\n  return a + b; // sum\n}\n',
  '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.7,"max_tokens":1024}\n',
  '👨‍👩‍👧‍👦 👍🏽 🏳️‍🌈 ',
  'Order 31415926535 shipped on 2026-12-08 at 00:39:14Z to 192.168.0.1.\n',
  '    indented line with    several   spaces\t\tand tabs\n',
];
const ENGLISH_SNIPPET =
  'A token budget is only useful if it is enforced before the money is spent. The gateway therefore estimates every ' +
  "prompt, reserves that many tokens against each applicable limit, and refunds whatever the provider's usage shows " +
  'was not needed. Estimates must be fast, because they run on every request, and exact, because they are money.\n';

/** Seeded pseudo-words from several scripts: little repetition, so neither counter's piece cache helps much. */
function variedText(tokens: number, count: (text: string) => number): string {
  let seed = 20261208;
  const next = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const alphabets = ['etaoinshrdlucmfwypvbgkqjxz', 'aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệ', 'абвгдежзийклмнопрстуфхцчшщыэюя', '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里', '0123456789'];
  const separators = [' ', ' ', ' ', ', ', '. ', '\n', ' (', ') ', ': '];
  let text = '';
  for (let chunk = 0; ; chunk++) {
    for (let word = 0; word < 200; word++) {
      const alphabet = alphabets[Math.floor(next() * next() * alphabets.length)]!;
      const length = 2 + Math.floor(next() * 8);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      text += separators[Math.floor(next() * separators.length)];
    }
    if (count(text) >= tokens) return text;
  }
}

/** About `tokens` tokens of the snippets in turn, each repetition numbered so the text is not one repeated string. */
function buildText(snippets: string[], tokens: number, count: (text: string) => number): string {
  let text = '';
  for (let i = 0; count(text) < tokens; i++) {
    for (const snippet of snippets) text += snippet;
    text += `(${i})\n`;
  }
  return text;
}

function throughput(texts: Record<string, string>, counters: Record<string, (text: string) => number>) {
  const results: Record<string, unknown> = {};
  for (const [textName, text] of Object.entries(texts)) {
    const tokens = counters['gpt-tokenizer']!(text);
    for (const [name, count] of Object.entries(counters)) {
      if (count(text) !== tokens) throw new Error(`${name} counts ${count(text)} tokens in the ${textName} text; gpt-tokenizer ${tokens}`);
    }
    // Alternating rounds, so a burst of load from other processes does not land on one counter only.
    const rounds: Record<string, Array<{ cpu_us: number; wall_us: number }>> = {};
    for (let round = 0; round < 3; round++) {
      for (const [name, count] of Object.entries(counters)) {
        const timing = timePerRun(() => count(text), { warmupRuns: 10, batches: 9, runsPerBatch: 5 });
        (rounds[name] ??= []).push(timing);
      }
    }
    const row: Record<string, unknown> = { chars: text.length, tokens };
    for (const [name, timings] of Object.entries(rounds)) {
      const cpuUs = median(timings.map((timing) => timing.cpu_us));
      row[name] = {
        cpu_ms_per_count: round(cpuUs / 1000, 2),
        wall_ms_per_count: round(median(timings.map((timing) => timing.wall_us)) / 1000, 2),
        million_tokens_per_cpu_second: round(tokens / cpuUs, 2),
      };
    }
    const speedup = (rounds['gpt-tokenizer']!.map((t) => t.cpu_us).sort((a, b) => a - b)[1]! /
      rounds.compact!.map((t) => t.cpu_us).sort((a, b) => a - b)[1]!);
    row.compact_speedup = round(speedup, 2);
    results[textName] = row;
  }
  return results;
}

function packageVersion(name: string): string {
  const path = join(projectRoot, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const loadAvgBefore = os.loadavg();
  writeCompactJs();
  const load = {
    none: measureLoad('none'),
    compact: measureLoad('compact'),
    'compact-no-binary': measureLoad('compact-no-binary'),
    'gpt-tokenizer': measureLoad('gpt-tokenizer'),
  };
  const counters = {
    compact: (await import('../../src/tokenizer/o200k-count.ts')).countO200kTokens,
    'gpt-tokenizer': await loadCounter('gpt-tokenizer'),
  };
  const reference = counters['gpt-tokenizer'];
  const texts = {
    mixed: buildText(MIXED_SNIPPETS, 20_000, reference),
    english: buildText([ENGLISH_SNIPPET], 20_000, reference),
    varied: variedText(20_000, reference),
  };
  const speed = throughput(texts, counters);
  const result = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    load_average_1_5_15: { before: loadAvgBefore.map((v) => round(v, 2)), after: os.loadavg().map((v) => round(v, 2)) },
    versions: { node: process.version, 'gpt-tokenizer': packageVersion('gpt-tokenizer') },
    settings: { reps: REPS, child_node_flags: [...GATEWAY_NODE_FLAGS, '--expose-gc'] },
    load_in_fresh_process: {
      note: 'MB added by importing and counting once (ranks loaded), medians; "none" is the same child doing nothing',
      ...load,
    },
    throughput: speed,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nwrote ${OUT}\n`);
}

if (process.argv[2] === 'child') await child(process.argv[3] as Counter);
else await main();
