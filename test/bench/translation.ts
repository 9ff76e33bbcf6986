/**
 * Translation benchmark (issue 3): what translating Anthropic's stream into OpenAI chunks costs, per stream chunk and
 * per request, against the OpenAI-compatible passthrough of the same text in the same run.
 *
 * End to end, real Envoy + one `tollgate serve` serving both models, one streamed answer of CHUNKS content chunks:
 *   direct → fake OpenAI, direct → fake Anthropic          the floors: what each fake costs to stream that text
 *   Envoy+Tollgate → gpt-4o-mini → fake OpenAI             passthrough (usage asked upstream and stripped again)
 *   Envoy+Tollgate → claude → fake Anthropic               translated event by event
 * interleaved in rounds (each round runs a block of streams per contender, the order rotating), in three modes:
 *   back to back (the fakes send events without pause), one stream at a time and CONCURRENCY at a time: Envoy
 *     coalesces events into a few reads, so this is the translation's throughput cost, amortised per chunk:
 *     ((claude − direct Anthropic) − (gpt − direct OpenAI)) of the p50 total stream time / chunks;
 *   paced (events PACED_DELAY_MS apart, one stream at a time): every event reaches Tollgate as its own ext_proc
 *     message; the same difference of the p50 time to the first content chunk is how much later a chunk arrives.
 * TTFT likewise in every mode. Tollgate's and Envoy's CPU per stream come from /proc, which holds up better than
 * latency on a shared machine; Envoy's ext_proc counters tell how many messages a stream took.
 * In process (lib/translator-cost.ts): the translator (AnthropicStreamTranslator) and the passthrough transformer
 * (OpenAIStreamTransformer) fed the fakes' recorded streams one event per call, and translateRequest for a typical
 * chat body: µs of CPU.
 *
 *   node_modules/.bin/node test/bench/translation.ts      → test/bench/results/translation.json (npm run bench:translation)
 *
 * Env (all optional):
 *   BENCH_STREAMS=200 BENCH_CONCURRENCY=4 BENCH_BLOCK=20   back-to-back streams per contender and mode, round size
 *   BENCH_PACED_STREAMS=16 BENCH_PACED_DELAY_MS=1          paced streams per contender (0: no paced mode), event spacing
 *   BENCH_CHUNKS=500                                       content chunks per stream
 *   BENCH_MAX_FOREIGN_CPU=10 BENCH_QUIET_TIMEOUT_S=10      wait (at most this long) for other processes to calm down
 *   BENCH_OUT=FILE  BENCH_KEEP_DIR=1
 *   BENCH_TOLLGATE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof"   profile Tollgate (test/bench/profile-summary.ts)
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Pool } from 'undici';
import { stringify } from 'yaml';
import { Catalog } from '../../src/config/catalog.ts';
import { validateConfig } from '../../src/config/load-config.ts';
import { DEFAULT_FORWARD_HEADERS } from '../../src/config/schema.ts';
import type { ProviderAdapter, TranslateRequestInput } from '../../src/providers/provider-adapter.ts';
import { anthropicAdapter } from '../../src/providers/anthropic/adapter.ts';
import { openaiAdapter } from '../../src/providers/openai/adapter.ts';
import { freePort } from '../helpers/free-port.ts';
import type { CpuTiming } from './lib/cpu-timing.ts';
import { createPool } from './lib/paced-load.ts';
import { summarize, type LatencySummary } from './lib/percentiles.ts';
import {
  ProcessGroup, readCpuSeconds, startEnvoyAt, startFakeProvider, startForeignCpuMeter, startTollgateServe, startWatched, waitForQuiet,
  type WatchedProcess,
} from './lib/processes.ts';
import { commandLine, machineInfo, versions as readVersions } from './lib/run-info.ts';
import { streamOnce, type SseDialect, type StreamOutcome } from './lib/sse-client.ts';
import { requestTranslationCost, STREAM_TIMING, streamTranslationCost, TYPICAL_CHAT_BODY } from './lib/translator-cost.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const numberEnv = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const STREAMS = numberEnv('BENCH_STREAMS', 200);
const CONCURRENCY = numberEnv('BENCH_CONCURRENCY', 4);
const BLOCK = Math.min(STREAMS, numberEnv('BENCH_BLOCK', 20));
const CHUNKS = numberEnv('BENCH_CHUNKS', 500);
/** The paced mode: fewer streams (each takes CHUNKS × the delay), events far enough apart to reach Tollgate one by one. */
const PACED_STREAMS = numberEnv('BENCH_PACED_STREAMS', 16);
const PACED_DELAY_MS = numberEnv('BENCH_PACED_DELAY_MS', 1);
const PACED_BLOCK = Math.min(Math.max(1, PACED_STREAMS), 4);
const MAX_FOREIGN_CPU_PCT = numberEnv('BENCH_MAX_FOREIGN_CPU', 10);
const QUIET_TIMEOUT_MS = numberEnv('BENCH_QUIET_TIMEOUT_S', 10) * 1000;
const OUT = resolve(process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/translation.json'));
const KEEP_DIR = process.env.BENCH_KEEP_DIR === '1';
/** e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (then test/bench/profile-summary.ts FILE). */
const TOLLGATE_NODE_OPTIONS = process.env.BENCH_TOLLGATE_NODE_OPTIONS;

const OPENAI_KEY = 'sk-bench-openai-key';
const ANTHROPIC_KEY = 'sk-ant-bench-key';
const VIRTUAL_KEY = 'tg-bench-virtual-key-0123456789';
const GPT = 'gpt-4o-mini';
const CLAUDE = 'claude';
const CLAUDE_UPSTREAM = 'claude-haiku-4-5';

/**
 * Both fakes answer `Echo: <last user text>` one word per content chunk ("Echo:" is the first), so CHUNKS − 1
 * words of prompt make CHUNKS chunks. Words cycle through a fixed list: the same text every run.
 */
const WORDS = 'gateway stream chunk translate envoy policy tenant budget quota latency token model provider router cluster header'.split(' ');
const PROMPT = Array.from({ length: CHUNKS - 1 }, (_, i) => `${WORDS[i % WORDS.length]}${i}`).join(' ');
const EXPECTED_TEXT = `Echo: ${PROMPT}`;
const CLIENT_MESSAGES = [{ role: 'user', content: PROMPT }];

const write = (text: string) => process.stdout.write(text);
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

type ContenderName = 'direct_openai' | 'direct_anthropic' | 'tollgate_openai' | 'tollgate_anthropic';

interface Contender {
  name: ContenderName;
  label: string;
  pool: Pool;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The wire format the client receives. */
  dialect: SseDialect;
  /** Its answers come through Tollgate from this provider (checked by the x-tollgate-provider header). */
  viaTollgate: 'openai' | 'anthropic' | null;
}

// ───────────────────────────────────────────────────────────────── setup

function tollgateConfigObject(ports: { listener: number; envoyAdmin: number; extproc: number; admin: number }, dir: string, openaiUrl: string, anthropicUrl: string) {
  return {
    listener: { address: '127.0.0.1', port: ports.listener },
    envoy: { admin: { address: '127.0.0.1', port: ports.envoyAdmin }, config_dir: join(dir, 'envoy') },
    // BENCH_EXTPROC_TRANSPORT: compare transports (default: the config default).
    extproc: { address: '127.0.0.1', port: ports.extproc, ...(process.env.BENCH_EXTPROC_TRANSPORT ? { transport: process.env.BENCH_EXTPROC_TRANSPORT } : {}) },
    admin: { address: '127.0.0.1', port: ports.admin, token_env: 'BENCH_ADMIN_TOKEN' },
    store: { type: 'memory' },
    logging: { level: 'warn' },
    // Every stream carries the same prompt: a cache would answer all but the first.
    cache: { defaults: { mode: 'off' } },
    // The paced mode's chunk delay is a client header the fakes must receive.
    requests: { forward_headers: [...DEFAULT_FORWARD_HEADERS, 'x-fake-chunk-delay-ms'] },
    providers: {
      openai: { type: 'openai', base_url: openaiUrl, api_key_env: 'BENCH_OPENAI_KEY' },
      anthropic: { type: 'anthropic', base_url: `${anthropicUrl}/v1`, api_key_env: 'BENCH_ANTHROPIC_KEY' },
    },
    models: {
      [GPT]: { provider: 'openai', kind: 'chat' },
      [CLAUDE]: { provider: 'anthropic', kind: 'chat', upstream_model: CLAUDE_UPSTREAM },
    },
    orgs: { bench: { teams: { perf: { apps: { loadgen: {} } } } } },
    keys: [{ key_env: 'BENCH_VIRTUAL_KEY', org: 'bench', team: 'perf', app: 'loadgen', name: 'bench' }],
  };
}

/** The fake Anthropic in its own process, like the fake OpenAI of lib/processes.ts. */
async function startFakeAnthropicProcess(): Promise<WatchedProcess & { url: string }> {
  const started = await startWatched({
    command: process.execPath,
    args: ['--no-warnings=ExperimentalWarning', join(projectRoot, 'test/fakes/anthropic-provider.ts'), '--port', '0', '--no-record', '--api-key', ANTHROPIC_KEY],
    cwd: projectRoot,
    readyLine: /^FAKE_ANTHROPIC_URL=(\S+)/,
  });
  const url = started.ready?.[1];
  if (!url) throw new Error('the fake Anthropic printed no URL');
  return Object.assign(started, { url });
}

/** The request an adapter makes of the client's body: what Tollgate sends upstream, so the floors stream the same. */
function upstreamRequest(adapter: ProviderAdapter, catalog: Catalog, providerName: string, model: string, credential: string, body: Record<string, unknown>) {
  const provider = catalog.provider(providerName);
  if (!provider) throw new Error(`no provider ${providerName}`);
  const input: TranslateRequestInput = {
    endpoint: 'chat', body, stream: true,
    target: { providerName, provider: provider.config, basePath: provider.basePath, upstreamModel: model, credential },
  };
  return { input, outgoing: adapter.translateRequest(input) };
}

// ───────────────────────────────────────────────────────────────── end to end

interface Samples {
  ttft: number[];
  total: number[];
  /** CPU seconds per process over this contender's blocks. */
  cpu: Record<string, number>;
  failed: number;
  /** The first few failures. */
  failures: string[];
}

/** Runs `count` streams of one contender with `concurrency` in flight. */
async function runBlock(contender: Contender, count: number, concurrency: number, into: Samples): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      const outcome = await streamOnce(contender.pool, { path: contender.path, headers: contender.headers, body: contender.body, dialect: contender.dialect })
        .catch((error: unknown) => `${(error as Error).name}: ${(error as Error).message}`);
      const problem = typeof outcome === 'string' ? outcome : problemOf(contender, outcome);
      if (problem) {
        into.failed += 1;
        if (into.failures.length < 5) into.failures.push(problem);
        continue;
      }
      const ok = outcome as StreamOutcome;
      into.ttft.push(ok.ttftMs);
      into.total.push(ok.totalMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function problemOf(contender: Contender, outcome: StreamOutcome): string | null {
  if (outcome.status !== 200) return `${contender.label}: status ${outcome.status} ${outcome.errorBody?.slice(0, 300)}`;
  if (!outcome.complete) return `${contender.label}: incomplete stream${outcome.error ? ` (${outcome.error.slice(0, 200)})` : ''}`;
  if (outcome.contentEvents !== CHUNKS) return `${contender.label}: ${outcome.contentEvents} content chunks, expected ${CHUNKS}`;
  if (contender.viaTollgate && outcome.headers['x-tollgate-provider'] !== contender.viaTollgate) {
    return `${contender.label}: x-tollgate-provider is ${String(outcome.headers['x-tollgate-provider'])}, expected ${contender.viaTollgate}`;
  }
  return null;
}

/** One smoke stream per contender, every event parsed: the same text, the same number of chunks, both formats. */
async function verify(contender: Contender): Promise<void> {
  const outcome = await streamOnce(contender.pool, { path: contender.path, headers: contender.headers, body: contender.body, dialect: contender.dialect, keepText: true });
  const problem = problemOf(contender, outcome);
  if (problem) throw new Error(problem);
  if (outcome.text !== EXPECTED_TEXT) throw new Error(`${contender.label}: the stream's text differs from "Echo: <prompt>" (${outcome.text?.slice(0, 80)}…)`);
}

interface ModeOptions {
  label: string;
  concurrency: number;
  streams: number;
  block: number;
  /** The fakes' pause between events (x-fake-chunk-delay-ms); 0 = back to back. */
  chunkDelayMs: number;
}

interface ModeResult {
  concurrency: number;
  chunk_delay_ms: number;
  seconds: number;
  foreign_cpu_pct: number;
  quiet_wait: { waited_ms: number; quiet: boolean };
  contenders: Record<ContenderName, {
    ttft_ms: LatencySummary; total_ms: LatencySummary; cpu_ms_per_stream: Record<string, number>;
    /** Envoy → Tollgate ext_proc messages per stream (request headers and body, then one per response body read). */
    extproc_msgs_per_stream?: number;
    failed: number;
    failures: string[];
  }>;
  /**
   * The per-chunk figure (perChunkFigure) computed within each round, whose four blocks ran close together: the
   * spread of the paired estimate.
   */
  added_us_per_chunk_by_round: number[];
}

interface Meters {
  pids: Record<string, number>;
  ourPids: () => number[];
  /** Envoy's count of ext_proc messages sent to Tollgate so far. */
  extprocMessages: () => Promise<number>;
}

async function runMode(allContenders: Contender[], mode: ModeOptions, meters: Meters): Promise<ModeResult> {
  write(`\n${mode.label}: ${mode.streams} streams per contender in rounds of ${mode.block}\n`);
  const contenders = allContenders.map((c) => (mode.chunkDelayMs ? { ...c, headers: { ...c.headers, 'x-fake-chunk-delay-ms': String(mode.chunkDelayMs) } } : c));
  const quiet = await waitForQuiet(meters.ourPids, MAX_FOREIGN_CPU_PCT, QUIET_TIMEOUT_MS);
  if (!quiet.quiet) write(`  other processes kept using more than ${MAX_FOREIGN_CPU_PCT}% of a core for ${QUIET_TIMEOUT_MS / 1000} s: measuring anyway\n`);
  const warmup = mode.chunkDelayMs ? mode.concurrency : Math.max(mode.concurrency * 2, 10);
  for (const contender of contenders) await runBlock(contender, warmup, mode.concurrency, { ttft: [], total: [], cpu: {}, failed: 0, failures: [] });
  const samples = Object.fromEntries(contenders.map((c) => [c.name, { ttft: [], total: [], cpu: {}, failed: 0, failures: [] } as Samples])) as Record<ContenderName, Samples>;
  const messages: Partial<Record<ContenderName, number>> = {};
  const byRound: number[] = [];
  const foreign = startForeignCpuMeter(meters.ourPids);
  const startedAt = performance.now();
  const rounds = Math.ceil(mode.streams / mode.block);
  for (let r = 0; r < rounds; r++) {
    const medians: Partial<Record<ContenderName, number>> = {};
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(r + k) % contenders.length] as Contender;
      const into = samples[contender.name];
      const messagesBefore = contender.viaTollgate ? await meters.extprocMessages() : 0;
      const before = Object.fromEntries(Object.entries(meters.pids).map(([name, pid]) => [name, readCpuSeconds(pid)]));
      const from = into.total.length;
      await runBlock(contender, Math.min(mode.block, mode.streams - r * mode.block), mode.concurrency, into);
      for (const [name, pid] of Object.entries(meters.pids)) into.cpu[name] = (into.cpu[name] ?? 0) + readCpuSeconds(pid) - (before[name] as number);
      if (contender.viaTollgate) messages[contender.name] = (messages[contender.name] ?? 0) + (await meters.extprocMessages()) - messagesBefore;
      medians[contender.name] = summarize((mode.chunkDelayMs ? into.ttft : into.total).slice(from)).p50;
    }
    byRound.push(perChunkFigure(mode.chunkDelayMs > 0, medians as Record<ContenderName, number>));
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const foreignPct = foreign.stop();
  write(`  translation adds, µs per chunk, by round: ${byRound.map((n) => fmt(n, 1)).join(' ')}\n`);
  write(`  ${fmt(seconds)} s, other processes used ${foreignPct}% of a core meanwhile\n`);
  const tooFast = contenders.filter((c) => mode.chunkDelayMs && summarize(samples[c.name].total).p50 < CHUNKS * mode.chunkDelayMs);
  if (tooFast.length) throw new Error(`paced mode: ${tooFast.map((c) => c.label).join(', ')} streamed faster than the chunk delay allows (did x-fake-chunk-delay-ms reach the fake?)`);
  const contenderResults = Object.fromEntries(contenders.map((c) => {
    const s = samples[c.name];
    for (const failure of s.failures) write(`  ! ${failure}\n`);
    const streams = Math.max(1, s.total.length + s.failed);
    const cpuPerStream = Object.fromEntries(Object.entries(s.cpu).map(([name, sec]) => [name, round((sec * 1000) / streams)]));
    const msgs = messages[c.name];
    return [c.name, {
      ttft_ms: summarize(s.ttft), total_ms: summarize(s.total), cpu_ms_per_stream: cpuPerStream,
      ...(msgs !== undefined ? { extproc_msgs_per_stream: round(msgs / streams, 1) } : {}), failed: s.failed, failures: s.failures,
    }];
  })) as ModeResult['contenders'];
  return {
    concurrency: mode.concurrency, chunk_delay_ms: mode.chunkDelayMs, seconds: round(seconds, 1), foreign_cpu_pct: foreignPct,
    quiet_wait: { waited_ms: quiet.waitedMs, quiet: quiet.quiet }, contenders: contenderResults, added_us_per_chunk_by_round: byRound.map((n) => round(n, 2)),
  };
}

/** (translated − its floor) − (passthrough − its floor), ms. */
function translationDelta(ms: Record<ContenderName, number>): number {
  return (ms.tollgate_anthropic - ms.direct_anthropic) - (ms.tollgate_openai - ms.direct_openai);
}

/**
 * Back to back, the stream is throughput-bound: the delta of its total time is the translation's cost summed over
 * the chunks, so it is divided by them. Paced, each event is its own ext_proc message and the fake's timers set the
 * pace (their drift over 500 events, ~1 ms, swamps µs in the total): the delta of the time to the first content
 * chunk is how much later a chunk arrives. From p50s in ms, in µs.
 */
function perChunkFigure(paced: boolean, ms: Record<ContenderName, number>): number {
  return (translationDelta(ms) * 1000) / (paced ? 1 : CHUNKS);
}

function modeFigures(mode: ModeResult) {
  const c = mode.contenders;
  const names = Object.keys(c) as ContenderName[];
  const of = (key: 'p50' | 'mean', field: 'ttft_ms' | 'total_ms') =>
    Object.fromEntries(names.map((name) => [name, c[name][field][key]])) as Record<ContenderName, number>;
  const cpuUsPerChunk = (name: ContenderName, process: string) => round(((c[name].cpu_ms_per_stream[process] ?? Number.NaN) * 1000) / CHUNKS, 2);
  const rounds = [...mode.added_us_per_chunk_by_round].sort((x, y) => x - y);
  const gatewayAdded = (field: 'ttft_ms' | 'total_ms') => ({
    openai: round(c.tollgate_openai[field].p50 - c.direct_openai[field].p50),
    anthropic: round(c.tollgate_anthropic[field].p50 - c.direct_anthropic[field].p50),
  });
  return {
    ...(mode.chunk_delay_ms
      ? {
          added_latency_per_chunk_us: {
            p50: round(perChunkFigure(true, of('p50', 'ttft_ms')), 1),
            mean: round(perChunkFigure(true, of('mean', 'ttft_ms')), 1),
            by_round: { median: rounds[rounds.length >> 1] ?? Number.NaN, min: rounds[0] ?? Number.NaN, max: rounds[rounds.length - 1] ?? Number.NaN },
          },
          // Whether the gateway kept the pace (within the fakes' timer drift).
          added_total_ms: { p50: round(translationDelta(of('p50', 'total_ms'))) },
        }
      : {
          added_us_per_chunk: {
            p50: round(perChunkFigure(false, of('p50', 'total_ms')), 2),
            mean: round(perChunkFigure(false, of('mean', 'total_ms')), 2),
            by_round: { median: rounds[rounds.length >> 1] ?? Number.NaN, min: rounds[0] ?? Number.NaN, max: rounds[rounds.length - 1] ?? Number.NaN },
          },
        }),
    ttft_added_ms: { p50: round(translationDelta(of('p50', 'ttft_ms'))), mean: round(translationDelta(of('mean', 'ttft_ms'))) },
    gateway_added_ms_p50: { ttft: gatewayAdded('ttft_ms'), total: gatewayAdded('total_ms') },
    tollgate_cpu_us_per_chunk: {
      openai: cpuUsPerChunk('tollgate_openai', 'tollgate'),
      anthropic: cpuUsPerChunk('tollgate_anthropic', 'tollgate'),
      added: round(cpuUsPerChunk('tollgate_anthropic', 'tollgate') - cpuUsPerChunk('tollgate_openai', 'tollgate'), 2),
    },
    envoy_cpu_us_per_chunk: { openai: cpuUsPerChunk('tollgate_openai', 'envoy'), anthropic: cpuUsPerChunk('tollgate_anthropic', 'envoy') },
    extproc_msgs_per_stream: { openai: c.tollgate_openai.extproc_msgs_per_stream ?? null, anthropic: c.tollgate_anthropic.extproc_msgs_per_stream ?? null },
    foreign_cpu_pct: mode.foreign_cpu_pct,
  };
}

// ───────────────────────────────────────────────────────────────── main

async function main(): Promise<void> {
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-bench-translation-'));
  const cleanUp = async () => {
    await group.stopAll();
    if (KEEP_DIR) write(`kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanUp().finally(() => process.exit(143)));
  const pools: Pool[] = [];
  try {
    const machine = machineInfo();
    const versions = readVersions(projectRoot);
    write(`Tollgate translation benchmark: ${machine.cores} cores (${machine.model}), node ${versions.node}, envoy ${versions.envoy}\n`);
    write(`${CHUNKS} content chunks per stream; per contender ${STREAMS} streams back to back (one, then ${CONCURRENCY} at a time)` +
      `${PACED_STREAMS > 0 ? ` and ${PACED_STREAMS} paced ${PACED_DELAY_MS} ms per event` : ''}\n`);

    const fakeOpenAI = group.add(await startFakeProvider(projectRoot, OPENAI_KEY));
    const fakeAnthropic = group.add(await startFakeAnthropicProcess());
    const ports = { listener: await freePort(), envoyAdmin: await freePort(), extproc: await freePort(), admin: await freePort() };
    const config = tollgateConfigObject(ports, dir, fakeOpenAI.url, fakeAnthropic.url);
    const catalog = new Catalog(validateConfig(structuredClone(config), 'translation benchmark'));
    const configPath = join(dir, 'tollgate.yaml');
    await writeFile(configPath, stringify(config));
    const tollgate = group.add(await startTollgateServe({
      projectRoot, configPath, adminUrl: `http://127.0.0.1:${ports.admin}`, logFile: join(dir, 'tollgate.log'),
      env: { ...process.env, BENCH_OPENAI_KEY: OPENAI_KEY, BENCH_ANTHROPIC_KEY: ANTHROPIC_KEY, BENCH_VIRTUAL_KEY: VIRTUAL_KEY, BENCH_ADMIN_TOKEN: 'bench-admin' },
      ...(TOLLGATE_NODE_OPTIONS ? { nodeOptions: TOLLGATE_NODE_OPTIONS } : {}),
    }));
    const envoy = group.add(await startEnvoyAt(projectRoot, join(dir, 'envoy', 'envoy.yaml'), ports.envoyAdmin));

    const pool = (origin: string) => {
      const created = createPool(origin, Math.max(CONCURRENCY, 4));
      pools.push(created);
      return created;
    };
    const gateway = pool(`http://127.0.0.1:${ports.listener}`);
    const clientBody = (model: string) => JSON.stringify({ model, stream: true, messages: CLIENT_MESSAGES });
    const upstreamOpenAI = upstreamRequest(openaiAdapter, catalog, 'openai', GPT, OPENAI_KEY, { model: GPT, stream: true, messages: CLIENT_MESSAGES });
    const upstreamAnthropic = upstreamRequest(anthropicAdapter, catalog, 'anthropic', CLAUDE_UPSTREAM, ANTHROPIC_KEY, { model: CLAUDE, stream: true, messages: CLIENT_MESSAGES });
    const json = { 'content-type': 'application/json' };
    const contenders: Contender[] = [
      {
        name: 'direct_openai', label: 'direct → fake OpenAI', pool: pool(new URL(fakeOpenAI.url).origin), dialect: 'openai', viaTollgate: null,
        path: upstreamOpenAI.outgoing.path, headers: { ...json, ...upstreamOpenAI.outgoing.headers }, body: JSON.stringify(upstreamOpenAI.outgoing.body),
      },
      {
        name: 'direct_anthropic', label: 'direct → fake Anthropic', pool: pool(fakeAnthropic.url), dialect: 'anthropic', viaTollgate: null,
        path: upstreamAnthropic.outgoing.path, headers: { ...json, ...upstreamAnthropic.outgoing.headers }, body: JSON.stringify(upstreamAnthropic.outgoing.body),
      },
      {
        name: 'tollgate_openai', label: `Envoy+Tollgate → ${GPT}`, pool: gateway, dialect: 'openai', viaTollgate: 'openai',
        path: '/v1/chat/completions', headers: { ...json, authorization: `Bearer ${VIRTUAL_KEY}` }, body: clientBody(GPT),
      },
      {
        name: 'tollgate_anthropic', label: `Envoy+Tollgate → ${CLAUDE}`, pool: gateway, dialect: 'openai', viaTollgate: 'anthropic',
        path: '/v1/chat/completions', headers: { ...json, authorization: `Bearer ${VIRTUAL_KEY}` }, body: clientBody(CLAUDE),
      },
    ];
    for (const contender of contenders) await verify(contender);
    write(`checked: every contender streams "Echo: <prompt>" in ${CHUNKS} content chunks\n`);

    // The fakes' own bytes, as Tollgate receives them, for the in-process figures.
    const recorded = async (c: Contender) => (await streamOnce(c.pool, { path: c.path, headers: c.headers, body: c.body, dialect: c.dialect, keepEvents: true })).events ?? [];
    const anthropicEvents = await recorded(contenders[1] as Contender);
    const openaiEvents = await recorded(contenders[0] as Contender);

    const pids = { tollgate: tollgate.pid, envoy: envoy.pid, fake_openai: fakeOpenAI.pid, fake_anthropic: fakeAnthropic.pid };
    const meters: Meters = { pids, ourPids: () => Object.values(pids), extprocMessages: () => extprocMessagesSent(envoy.adminUrl) };
    const modes = {
      sequential: await runMode(contenders, { label: 'back to back, one stream at a time', concurrency: 1, streams: STREAMS, block: BLOCK, chunkDelayMs: 0 }, meters),
      [`concurrency_${CONCURRENCY}`]: await runMode(contenders, { label: `back to back, ${CONCURRENCY} streams at a time`, concurrency: CONCURRENCY, streams: STREAMS, block: BLOCK, chunkDelayMs: 0 }, meters),
      ...(PACED_STREAMS > 0
        ? { [`paced_${PACED_DELAY_MS}ms`]: await runMode(contenders, { label: `paced, events ${PACED_DELAY_MS} ms apart, one stream at a time`, concurrency: 1, streams: PACED_STREAMS, block: PACED_BLOCK, chunkDelayMs: PACED_DELAY_MS }, meters) }
        : {}),
    };
    await Promise.all(pools.map((p) => p.close()));
    pools.length = 0;
    await group.stopAll();

    write('\nin process: translators fed the recorded streams one event per call; translateRequest of a typical chat body\n');
    const foreign = startForeignCpuMeter(() => []);
    const anthropicStream = streamTranslationCost(anthropicAdapter, anthropicEvents, { clientWantsUsage: false, upstreamModel: CLAUDE_UPSTREAM });
    const openaiStream = streamTranslationCost(openaiAdapter, openaiEvents, { clientWantsUsage: false, upstreamModel: GPT });
    const openaiStreamWithUsage = streamTranslationCost(openaiAdapter, openaiEvents, { clientWantsUsage: true, upstreamModel: GPT });
    const typical = (adapter: ProviderAdapter, provider: string, clientModel: string, model: string, credential: string) =>
      requestTranslationCost(adapter, upstreamRequest(adapter, catalog, provider, model, credential, { model: clientModel, ...structuredClone(TYPICAL_CHAT_BODY) }).input);
    const anthropicRequest = typical(anthropicAdapter, 'anthropic', CLAUDE, CLAUDE_UPSTREAM, ANTHROPIC_KEY);
    const openaiRequest = typical(openaiAdapter, 'openai', GPT, GPT, OPENAI_KEY);
    const inProcessForeign = foreign.stop();
    const perChunk = (t: CpuTiming) => ({ cpu_us: round(t.cpu_us / CHUNKS), cpu_us_min: round(t.cpu_us_min / CHUNKS), wall_us: round(t.wall_us / CHUNKS) });
    const inProcess = {
      translator_us_per_chunk: {
        anthropic_to_openai: perChunk(anthropicStream),
        openai_passthrough_strip_usage: perChunk(openaiStream),
        openai_passthrough_client_wants_usage: perChunk(openaiStreamWithUsage),
        added_cpu_us: round((anthropicStream.cpu_us - openaiStream.cpu_us) / CHUNKS),
      },
      translate_request_us: {
        anthropic: { translate: anthropicRequest.translate.cpu_us, translate_and_serialize: anthropicRequest.translate_and_serialize.cpu_us },
        openai: { translate: openaiRequest.translate.cpu_us, translate_and_serialize: openaiRequest.translate_and_serialize.cpu_us },
        added_cpu_us: round(anthropicRequest.translate_and_serialize.cpu_us - openaiRequest.translate_and_serialize.cpu_us),
      },
      foreign_cpu_pct: inProcessForeign,
    };

    const figures = { ...Object.fromEntries(Object.entries(modes).map(([name, mode]) => [name, modeFigures(mode)])), in_process: inProcess };
    const results = {
      date: new Date().toISOString(),
      machine: { cores: machine.cores, memory_gb: machine.memory_gib, cpu_model: machine.model, os: machine.os },
      versions,
      command: commandLine(projectRoot),
      chunks: CHUNKS,
      streams: STREAMS,
      paced_streams: PACED_STREAMS,
      figures,
      settings: {
        contenders: Object.fromEntries(contenders.map((c) => [c.name, c.label])),
        stream: `one user message of ${CHUNKS - 1} words; both fakes answer "Echo: <text>" one word per content chunk`,
        upstream_bodies: 'the direct floors send the exact body Tollgate sends upstream (adapter.translateRequest of the client body), the OpenAI one with stream_options.include_usage',
        client: 'undici Pool; content events spotted by substring (no JSON parse); TTFT = request sent → network read holding the first content event',
        rounds: 'interleaved: each round runs a block of streams per contender, the starting contender rotating; a warm-up block per contender before each mode',
        added_us_per_chunk: 'back to back: ((tollgate_anthropic − direct_anthropic) − (tollgate_openai − direct_openai)) of total stream time / chunks',
        added_latency_per_chunk_us: 'paced: the same difference of TTFT (each event its own ext_proc message): how much later a chunk arrives; the total is left to the fakes\' timer drift (added_total_ms)',
        tollgate_config: 'one `tollgate serve` for both models (stages: auth, validate, models, route, observe; cache off; memory store; logging warn), Envoy --concurrency 2',
        cpu: "from /proc/<pid>/stat (10 ms ticks) summed over each contender's blocks, divided by its streams",
        extproc_msgs: 'Envoy ext_proc stream_msgs_sent over the blocks / streams: request headers + body, then one per response body read Envoy passed on',
        in_process: `${STREAM_TIMING.batches} batches × ${STREAM_TIMING.runsPerBatch} whole streams after ${STREAM_TIMING.warmupRuns} warm-up streams, median batch per content chunk (start/end events included)`,
        typical_request: TYPICAL_CHAT_BODY,
        foreign_cpu_pct: 'CPU used by processes outside the benchmark during each phase, % of one core (the machine may be shared)',
      },
      runs: modes,
    };
    mkdirSync(resolve(OUT, '..'), { recursive: true });
    await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
    printTable(modes, inProcess);
    write(`Results: ${relative(projectRoot, OUT)}\n`);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await cleanUp();
  }
}

/** Messages Envoy's ext_proc filters have sent to Tollgate so far (all its ext_proc stat prefixes). */
async function extprocMessagesSent(adminUrl: string): Promise<number> {
  const text = await fetch(`${adminUrl}/stats?filter=${encodeURIComponent('ext_proc\\..*stream_msgs_sent$')}`).then((r) => r.text());
  let total = 0;
  for (const line of text.split('\n')) total += Number(/: (\d+)$/.exec(line.trim())?.[1] ?? 0);
  return total;
}

function printTable(modes: Record<string, ModeResult>, inProcess: { translator_us_per_chunk: { anthropic_to_openai: { cpu_us: number }; openai_passthrough_strip_usage: { cpu_us: number } }; translate_request_us: { anthropic: { translate_and_serialize: number }; openai: { translate_and_serialize: number } }; foreign_cpu_pct: number }): void {
  const entries = Object.entries(modes);
  const column = (text: string) => text.padEnd(24);
  write(`\n${'p50 ms: TTFT / whole stream'.padEnd(34)}${entries.map(([name]) => column(name)).join('')}\n`);
  for (const name of ['direct_openai', 'direct_anthropic', 'tollgate_openai', 'tollgate_anthropic'] as ContenderName[]) {
    write(`  ${name.padEnd(32)}${entries.map(([, m]) => column(`${fmt(m.contenders[name].ttft_ms.p50, 2)} / ${fmt(m.contenders[name].total_ms.p50, 2)}`)).join('')}\n`);
  }
  const figures = entries.map(([, m]) => modeFigures(m));
  const row = (label: string, cell: (f: ReturnType<typeof modeFigures>) => string) => write(`${label.padEnd(34)}${figures.map((f) => column(cell(f))).join('')}\n`);
  row('translation adds, per chunk', (f) => ('added_us_per_chunk' in f
    ? `${fmt(f.added_us_per_chunk.p50, 2)} µs (${fmt(f.added_us_per_chunk.by_round.min, 0)}…${fmt(f.added_us_per_chunk.by_round.max, 0)})`
    : `${fmt(f.added_latency_per_chunk_us.p50, 0)} µs later`));
  row('translation adds, TTFT', (f) => `${fmt(f.ttft_added_ms.p50, 3)} ms`);
  row('Tollgate CPU/chunk gpt | claude', (f) => `${fmt(f.tollgate_cpu_us_per_chunk.openai)} | ${fmt(f.tollgate_cpu_us_per_chunk.anthropic)} µs`);
  row('Envoy CPU/chunk gpt | claude', (f) => `${fmt(f.envoy_cpu_us_per_chunk.openai)} | ${fmt(f.envoy_cpu_us_per_chunk.anthropic)} µs`);
  row('ext_proc msgs/stream gpt | claude', (f) => `${f.extproc_msgs_per_stream.openai ?? '—'} | ${f.extproc_msgs_per_stream.anthropic ?? '—'}`);
  row('other processes, % of a core', (f) => `${f.foreign_cpu_pct}`);
  const t = inProcess.translator_us_per_chunk;
  const r = inProcess.translate_request_us;
  write(`\nin process, CPU per chunk: Anthropic→OpenAI ${fmt(t.anthropic_to_openai.cpu_us, 2)} µs, OpenAI passthrough ${fmt(t.openai_passthrough_strip_usage.cpu_us, 2)} µs\n`);
  write(`in process, CPU per request (translate + serialise): Anthropic ${fmt(r.anthropic.translate_and_serialize, 2)} µs, OpenAI ${fmt(r.openai.translate_and_serialize, 2)} µs` +
    ` (other processes: ${inProcess.foreign_cpu_pct}% of a core)\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`translation benchmark failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
