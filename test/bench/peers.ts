/**
 * Peer benchmark (issue 7): Tollgate side by side with the gateways people use today, all against the same
 * zero-latency fake OpenAI provider, with the same request bodies, the same load generator and the same rates, in one
 * run on this machine:
 *   direct → fake (the floor), bare Envoy (the transport floor), Tollgate auth only, Tollgate with every stage on (one
 *   process, and two behind the one Envoy: tollgate-full-2p), LiteLLM proxy (no auth / master key), Portkey gateway.
 * (How throughput grows with more Tollgate processes, without the peers: test/bench/scaling.ts.)
 * Figures: added latency p50/p90/p99 over direct at fixed rates (open loop, from the scheduled send time, median of
 * the repetitions); max throughput with 50 connections (closed loop) and its error rate; streaming time to first token
 * and inter-chunk delay added (5 content chunks, 20 ms apart); RSS of each gateway's process tree idle and under load;
 * CPU ms per request of each process (Tollgate, Envoy, Redis, Portkey, LiteLLM, the fake provider, the generator)
 * from /proc/<pid>/stat around each measured run, and gateway CPU seconds per 10k requests at the highest rate.
 *
 * The fixed-rate and max-throughput load comes from our Go generator (test/bench/loadgen, built on demand): little CPU
 * per request, and not in the Node runtime the gateways run on. BENCH_GENERATOR=node uses the Node/undici generator
 * (lib/paced-load.ts, lib/closed-loop.ts) instead, to compare the two; streaming timings always use the Node client.
 * Bodies: a realistic 296-byte chat request (system message, max_tokens, user, a unique prompt per request, so every
 * cache lookup misses); BENCH_BODY=small for the short one-message body of earlier runs.
 *
 *   node_modules/.bin/node test/bench/peers.ts      → test/bench/results/peers.json (npm run bench:peers)
 *
 * The peers are installed by test/bench/peers/setup (run from here when needed; BENCH_SKIP_PEER_SETUP=1 to skip).
 *
 * Env (all optional):
 *   BENCH_SECONDS=20 BENCH_WARMUP_SECONDS=3 BENCH_REPS=2 BENCH_RATES=200,500   fixed-rate runs
 *   BENCH_CONTENDERS=direct,envoy,tollgate-auth,tollgate-full,tollgate-full-2p,litellm,litellm-auth,portkey   a subset (direct always runs)
 *   BENCH_MAX_SECONDS=10 BENCH_MAX_CONNECTIONS=50       closed-loop max throughput
 *   BENCH_GENERATOR=go|node   load generator of the fixed-rate and max-throughput runs (default go)
 *   BENCH_BODY=realistic|small   request body (default realistic, 296 bytes)
 *   BENCH_CONNECTIONS=128     most connections of the fixed-rate load (0: on demand, Go generator only)
 *   BENCH_STREAM_SECONDS=10 BENCH_STREAM_RPS=20         streaming timings
 *   BENCH_LITELLM_WORKERS=2                             uvicorn workers of LiteLLM
 *   BENCH_MAX_FOREIGN_CPU=10 BENCH_ATTEMPTS=2 BENCH_QUIET_TIMEOUT_S=120   redo fixed-rate runs disturbed by others
 *   BENCH_PROFILE=1|0   after the measurements, profile a fresh Tollgate (every stage) at the highest rate (--cpu-prof):
 *                       default only when the target is missed; the summary goes into the results, the .cpuprofile
 *                       (a flame graph in Chrome DevTools or speedscope) into test/bench/.peers/profiles/
 *   BENCH_TOLLGATE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof"   node options for both measured Tollgates
 *   BENCH_TOLLGATE_RUN=dist|src   Tollgate from the compiled JavaScript, as the container image runs it (default: dist,
 *                       built here first; the peers run their own builds too), or from the .ts sources
 *   BENCH_OUT=FILE  BENCH_KEEP_DIR=1
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Pool } from 'undici';
import { runClosedLoad, type ClosedLoadResult } from './lib/closed-loop.ts';
import { goVersion, loadgenBinary, runLoadgen, toClosedLoadResult, toFixedLoadResult, type FixedLoadResult } from './lib/loadgen.ts';
import { createPool, runPacedLoad } from './lib/paced-load.ts';
import { processTrees, processTreesByName, rssOfMb } from './lib/process-tree.ts';
import { buildDist, ProcessGroup, startFakeProvider, waitForQuiet } from './lib/processes.ts';
import { startBenchRun } from './lib/bench-run.ts';
import { metered, waitUntilIdle, type RunResources } from './lib/resource-meter.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import { runStreamTiming } from './lib/stream-timing.ts';
import type { Contender, ContenderName, ContenderSpec, StartContext } from './peers/contender.ts';
import { litellmMasterKey, litellmNoAuth } from './peers/litellm.ts';
import { portkey } from './peers/portkey.ts';
import { buildPeersResults, peersMarkdown, type FixedRun, type MaxRun, type StreamRun } from './peers/report.ts';
import { bareEnvoy, direct } from './peers/transport.ts';
import { BODY_TEMPLATES, fillBody, MODEL } from './peers/bodies.ts';
import { startTollgateFullProfiled, tollgateAuthOnly, tollgateFull, tollgateFullTwoProcesses } from './peers/tollgate.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const env = process.env;
const numberEnv = (name: string, fallback: number) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
const SECONDS = numberEnv('BENCH_SECONDS', 20);
const WARMUP_SECONDS = numberEnv('BENCH_WARMUP_SECONDS', 3);
const REPS = Math.max(1, numberEnv('BENCH_REPS', 2));
const RATES = (env.BENCH_RATES ?? '200,500').split(',').map(Number).filter((n) => n > 0);
const MAX_SECONDS = numberEnv('BENCH_MAX_SECONDS', 10);
const MAX_CONNECTIONS = numberEnv('BENCH_MAX_CONNECTIONS', 50);
const STREAM_SECONDS = numberEnv('BENCH_STREAM_SECONDS', 10);
const STREAM_RPS = numberEnv('BENCH_STREAM_RPS', 20);
const CHUNK_DELAY_MS = 20;
/** "Echo:" + the 4 words of the prompt: the fake sends 5 content chunks (after the role chunk, before the finish chunk). */
const STREAM_CONTENT_CHUNKS = 5;
const MAX_FOREIGN_CPU_PCT = numberEnv('BENCH_MAX_FOREIGN_CPU', 10);
const ATTEMPTS = Math.max(1, numberEnv('BENCH_ATTEMPTS', 2));
const QUIET_TIMEOUT_MS = numberEnv('BENCH_QUIET_TIMEOUT_S', 120) * 1000;
const OUT = resolve(env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/peers.json'));
const KEEP_DIR = env.BENCH_KEEP_DIR === '1';
const PEERS_DIR = resolve(env.BENCH_PEERS_DIR ?? join(projectRoot, 'test/bench/.peers'));
const PROFILE = env.BENCH_PROFILE;
const GENERATOR: 'go' | 'node' = env.BENCH_GENERATOR === 'node' ? 'node' : 'go';
const BODY_KIND: 'realistic' | 'small' = env.BENCH_BODY === 'small' ? 'small' : 'realistic';
/** The Node pool's size; the Go generator opens connections on demand up to the same cap. */
const FIXED_CONNECTIONS = numberEnv('BENCH_CONNECTIONS', 128);

const PROVIDER_KEY = 'sk-bench-provider-key';
const PATH = '/v1/chat/completions';

/**
 * Every contender, in table order. tollgate-full-2p is in the default set: it adds one Tollgate contender's runs, about
 * 2 minutes (4 fixed-rate runs of 23 s, 12 s of max throughput, 11 s of streams) to a run of roughly 25 (LiteLLM's
 * backlogs take the most), and it is the only measurement of a second process's effect on latency at fixed rates;
 * test/bench/scaling.ts measures the max-throughput side for 1, 2 and 3 processes.
 */
const SPECS: ContenderSpec[] = [direct, bareEnvoy, tollgateAuthOnly, tollgateFull, tollgateFullTwoProcesses, litellmNoAuth, litellmMasterKey, portkey];
const SELECTED = new Set<string>(['direct', ...(env.BENCH_CONTENDERS ?? SPECS.map((spec) => spec.name).join(',')).split(',').map((s) => s.trim())]);
/** The defaults of the issue; anything shorter or partial is a trial whose figures are not for publishing. */
const TRIAL = SECONDS < 20 || REPS < 2 || RATES.join(',') !== '200,500' || SPECS.some((spec) => !SELECTED.has(spec.name)) ||
  GENERATOR !== 'go' || BODY_KIND !== 'realistic';

const write = (text: string) => process.stdout.write(text);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ───────────────────────────────────────────────────────────────── request bodies

const BODY_TEMPLATE = BODY_TEMPLATES[BODY_KIND];

/**
 * Unique prompts (so Tollgate's cache misses on every request), the same sequence for every contender: request i of
 * a run with tag T always has the same body, whichever gateway it goes through and whichever generator sends it.
 */
function chatBodies(tag: string): (index: number) => string {
  return (index) => fillBody(BODY_TEMPLATE, tag, index);
}

/** Four words: the fake answers "Echo: <words>", five content chunks. */
function streamBodies(tag: string): (index: number) => string {
  const head = `{"model":"${MODEL}","stream":true,"messages":[{"role":"user","content":"${tag}x`;
  return (index) => `${head}${index} two three four"}]}`;
}

/** Six characters (padded), so every body of a rate has the same length. */
const runTag = Math.random().toString(36).slice(2, 8).padEnd(6, '0');

// ───────────────────────────────────────────────────────────────── phases

function runPeerSetup(): void {
  if (env.BENCH_SKIP_PEER_SETUP === '1') return;
  const result = spawnSync(join(projectRoot, 'test/bench/peers/setup'), [], {
    stdio: 'inherit',
    env: { ...env, PATH: `${join(projectRoot, 'node_modules/.bin')}:${env.PATH ?? ''}` },
  });
  if (result.status !== 0) write(`peers/setup failed (${result.status ?? result.signal}): peers that are not installed will be reported as not run\n`);
}

/** A JSON and a streaming request must answer 200 through the gateway, and verify() must accept the answer. */
async function smokeCheck(contender: Contender, pool: Pool): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const response = await pool.request({ path: PATH, method: 'POST', headers: contender.headers, body: chatBodies(`smoke${runTag}`)(i) });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`smoke request answered ${response.statusCode}: ${text.slice(0, 300)}`);
    const problem = contender.verify?.(response.headers);
    if (problem) throw new Error(problem);
    if (i === 0) {
      const gatewayHeaders = Object.fromEntries(Object.entries(response.headers).filter(([name]) => /^x-(tollgate|ratelimit)-/.test(name) && name !== 'x-tollgate-request-id'));
      if (Object.keys(gatewayHeaders).length) contender.setup.smoke_answer_headers = gatewayHeaders;
    }
  }
  const stream = await pool.request({ path: PATH, method: 'POST', headers: contender.headers, body: streamBodies(`smoke${runTag}`)(0) });
  const text = await stream.body.text();
  if (stream.statusCode !== 200 || !text.includes('[DONE]')) throw new Error(`smoke stream answered ${stream.statusCode}: ${text.slice(0, 300)}`);
}

/** Waits until a gateway has worked off any backlog (its CPU under 5 % of a core for 0.5 s), at most 30 s. */
function settle(contender: Contender): Promise<void> {
  return waitUntilIdle(contender.roots);
}

/** Every process of this benchmark but this one: its own CPU is told apart by startForeignCpuMeter itself. */
let ourPids: () => number[] = () => [];
let fakePid = 0;

/**
 * The processes whose CPU time each measured run records, by what they are: the contender's (tollgate, envoy, redis,
 * portkey, litellm), the fake provider and the load generator (the Go one, or this process for the Node one).
 */
function processesOf(contender: Contender, generatorPid: () => number): () => Record<string, number[]> {
  return () => {
    const gateway = contender.processes?.() ?? (contender.roots().length ? { [contender.name]: contender.roots() } : {});
    return { ...processTreesByName({ ...gateway, fake: [fakePid] }), generator: [generatorPid()] };
  };
}

function cpuPerRequest(resources: RunResources, requests: number): string {
  const entries = Object.entries(resources.cpuSecondsByProcess ?? {});
  if (!requests || !entries.length) return '';
  return `; CPU ms/request ${entries.map(([name, seconds]) => `${name} ${((seconds * 1000) / requests).toFixed(3)}`).join(', ')}`;
}

async function quiet(): Promise<void> {
  const waited = await waitForQuiet(ourPids, MAX_FOREIGN_CPU_PCT, QUIET_TIMEOUT_MS);
  if (waited.waitedMs > 1500) write(`(waited ${(waited.waitedMs / 1000).toFixed(0)} s for a quiet machine${waited.quiet ? '' : ', gave up'}) `);
}

/** The load generator's connection pool per contender; replaced when a saturated gateway left requests queued in it. */
const pools = new Map<ContenderName, Pool>();
const allPools: Pool[] = [];

function poolOf(contender: Contender): Pool {
  let pool = pools.get(contender.name);
  if (!pool) {
    pool = createPool(contender.origin, FIXED_CONNECTIONS || 128);
    pools.set(contender.name, pool);
    allPools.push(pool);
  }
  return pool;
}

/** Drops whatever a saturated gateway still has queued from the last run, so it does not spill into the next. */
async function dropBacklog(contender: Contender): Promise<void> {
  const pool = pools.get(contender.name);
  pools.delete(contender.name);
  await pool?.destroy().catch(() => undefined);
}

/** One measured fixed-rate run after its warm-up, with the Go generator or the Node one. */
async function fixedRateRun(contender: Contender, rps: number, tag: string): Promise<{ result: FixedLoadResult; resources: RunResources }> {
  if (GENERATOR === 'go') {
    let generatorPid = 0;
    return metered(contender.roots, ourPids, (marks) => runLoadgen({
      url: `${contender.origin}${PATH}`, mode: 'open', rate: rps, connections: FIXED_CONNECTIONS,
      durationMs: SECONDS * 1000, warmupMs: WARMUP_SECONDS * 1000,
      headers: contender.headers, body: BODY_TEMPLATE, unique: true, tag,
      onReady: (pid) => { generatorPid = pid; marks.start(); },
      onDone: () => marks.end(),
    }).then(toFixedLoadResult), { marked: true, processes: processesOf(contender, () => generatorPid) });
  }
  if (WARMUP_SECONDS > 0) {
    const warm = await runPacedLoad(poolOf(contender), { path: PATH, headers: contender.headers, bodyFor: chatBodies(`w${tag}`), rps, durationMs: WARMUP_SECONDS * 1000 });
    if (warm.unanswered) {
      await dropBacklog(contender);
      await settle(contender);
    }
  }
  return metered(contender.roots, ourPids, () =>
    runPacedLoad(poolOf(contender), { path: PATH, headers: contender.headers, bodyFor: chatBodies(tag), rps, durationMs: SECONDS * 1000 }),
  { processes: processesOf(contender, () => process.pid) });
}

async function fixedRate(contender: Contender, rps: number, rep: number): Promise<FixedRun> {
  let best: FixedRun | null = null;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    write(`  ${contender.name.padEnd(14)} ${String(rps).padStart(4)} RPS #${rep}: `);
    await quiet();
    const { result, resources } = await fixedRateRun(contender, rps, `${runTag}.${rps}.${rep}.${attempt}`);
    const run: FixedRun = { contender: contender.name, rps, rep, result, resources, attempts: attempt };
    const l = result.latency;
    write(`p50 ${fmt(l.p50)} p90 ${fmt(l.p90)} p99 ${fmt(l.p99)} ms, ${result.errorCount} errors, gateway CPU ${resources.cpuPct}%, ` +
      `generator ${resources.generatorCpuPct}%, others ${resources.foreignCpuPct}%${cpuPerRequest(resources, result.ok)}\n`);
    if (result.errorSamples.length) write(`    first error: ${result.errorSamples[0]?.slice(0, 200)}\n`);
    if (result.unanswered) await dropBacklog(contender);
    await settle(contender);
    if (!best || resources.foreignCpuPct < best.resources.foreignCpuPct) best = run;
    if (resources.foreignCpuPct <= MAX_FOREIGN_CPU_PCT) break;
    if (attempt < ATTEMPTS) write(`    other processes used ${resources.foreignCpuPct}% of a core meanwhile: measuring again\n`);
  }
  return best as FixedRun;
}

const MAX_WARMUP_SECONDS = 2;

/** The closed-loop max-throughput run (after a warm-up and letting the gateway settle), with either generator. */
async function maxThroughputRun(contender: Contender): Promise<{ result: ClosedLoadResult; resources: RunResources }> {
  if (GENERATOR === 'go') {
    let generatorPid = 0;
    return metered(contender.roots, ourPids, (marks) => runLoadgen({
      url: `${contender.origin}${PATH}`, mode: 'closed', connections: MAX_CONNECTIONS,
      durationMs: MAX_SECONDS * 1000, warmupMs: MAX_WARMUP_SECONDS * 1000,
      headers: contender.headers, body: BODY_TEMPLATE, unique: true, tag: `max${runTag}`,
      onReady: async (pid) => {
        generatorPid = pid;
        await settle(contender);
        marks.start();
      },
      onDone: () => marks.end(),
    }).then(toClosedLoadResult), { marked: true, processes: processesOf(contender, () => generatorPid) });
  }
  const pool = createPool(contender.origin, MAX_CONNECTIONS);
  try {
    const load = (tag: string, seconds: number) =>
      runClosedLoad(pool, { path: PATH, headers: contender.headers, bodyFor: chatBodies(tag), connections: MAX_CONNECTIONS, durationMs: seconds * 1000 });
    await load(`wmax${runTag}`, MAX_WARMUP_SECONDS);
    await settle(contender);
    return await metered(contender.roots, ourPids, () => load(`max${runTag}`, MAX_SECONDS), { processes: processesOf(contender, () => process.pid) });
  } finally {
    await pool.close();
  }
}

async function maxThroughput(contender: Contender): Promise<MaxRun> {
  write(`  ${contender.name.padEnd(14)} ${MAX_CONNECTIONS} connections, closed loop: `);
  await quiet();
  const { result, resources } = await maxThroughputRun(contender);
  write(`${fmt(result.rps, 0)} RPS, ${result.errorCount} errors (${fmt(result.errorRate * 100, 1)}%), p50 ${fmt(result.latency.p50)} ms, ` +
    `gateway CPU ${resources.cpuPct}%, generator ${resources.generatorCpuPct}%${cpuPerRequest(resources, result.ok)}\n`);
  if (result.errorSamples.length) write(`    first error: ${result.errorSamples[0]?.slice(0, 200)}\n`);
  await settle(contender);
  return { contender: contender.name, result, resources };
}

async function streaming(contender: Contender): Promise<StreamRun> {
  const pool = poolOf(contender);
  write(`  ${contender.name.padEnd(14)} streams at ${STREAM_RPS}/s: `);
  await quiet();
  const load = (tag: string, seconds: number) =>
    runStreamTiming(pool, { path: PATH, headers: contender.headers, bodyFor: streamBodies(tag), rps: STREAM_RPS, durationMs: seconds * 1000 });
  await load(`ws${runTag}`, 1);
  const { result, resources } = await metered(contender.roots, ourPids, () => load(`s${runTag}`, STREAM_SECONDS));
  write(`TTFT p50 ${fmt(result.ttft.p50)} p99 ${fmt(result.ttft.p99)} ms, inter-chunk p50 ${fmt(result.interChunk.p50)} ms, ` +
    `${result.contentEvents.median} content events/stream, ${result.errorCount} errors\n`);
  return { contender: contender.name, result, resources };
}

/**
 * Where Tollgate's time goes: a fresh Tollgate (every stage) under the same fixed-rate load with --cpu-prof (the
 * profiler's own cost makes its latency unrepresentative, hence a separate run), summarised by profile-summary.ts.
 */
async function profileTollgateFull(ctx: StartContext, rps: number) {
  const profileDir = join(PEERS_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  write(`\nprofiling Tollgate (every stage) at ${rps} RPS for ${SECONDS} s → ${relative(projectRoot, profileDir)}\n`);
  const group = new ProcessGroup();
  const started = performance.now();
  let fromMs = 0;
  try {
    const contender = await startTollgateFullProfiled({ ...ctx, group }, profileDir);
    const pool = createPool(contender.origin);
    try {
      await smokeCheck(contender, pool);
      fromMs = performance.now() - started;
      await runPacedLoad(pool, { path: PATH, headers: contender.headers, bodyFor: chatBodies(`prof${runTag}`), rps, durationMs: SECONDS * 1000 });
    } finally {
      await pool.destroy();
    }
  } finally {
    await group.stopAll(); // Tollgate writes its profiles as it exits
  }
  // One file per thread; the main thread's is the largest.
  const [main] = readdirSync(profileDir).filter((file) => file.endsWith('.cpuprofile')).map((file) => join(profileDir, file))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (!main) return null;
  // The flame graph is committed with the results (the profile itself is large and stays in the ignored folder).
  const flameGraph = join(projectRoot, 'test/bench/results/tollgate-full-flame-graph.svg');
  const summary = spawnSync(process.execPath, [
    join(projectRoot, 'test/bench/profile-summary.ts'), main, '--top', '15', '--from', String(Math.round(fromMs)), '--svg', flameGraph,
  ], { encoding: 'utf8' });
  return { rps, seconds: SECONDS, file: relative(projectRoot, main), flame_graph: relative(projectRoot, flameGraph), summary: summary.stdout.trim() };
}

// ───────────────────────────────────────────────────────────────── main

async function main(): Promise<void> {
  const { group, dir, cleanUp } = await startBenchRun({ prefix: 'tollgate-peers-', keepDir: KEEP_DIR, write });

  try {
    const machine = machineInfo();
    write(`Peer benchmark: ${machine.cores} cores (${machine.model}), ${machine.memory_gib} GiB; ` +
      `${SECONDS} s × ${REPS} reps at ${RATES.join(', ')} RPS${TRIAL ? ' — TRIAL settings, figures not for publishing' : ''}\n`);
    write(`load generator: ${GENERATOR === 'go' ? `Go (test/bench/loadgen, ${relative(projectRoot, loadgenBinary())})` : 'Node (undici, in this process)'}; ` +
      `body: ${BODY_KIND}, ${Buffer.byteLength(chatBodies(`${runTag}.500.1.1`)(0))} bytes\n`);
    runPeerSetup();
    env.BENCH_TOLLGATE_RUN ??= 'dist';
    if (env.BENCH_TOLLGATE_RUN === 'dist') {
      write('building Tollgate (npm run build) to run it as the container image does\n');
      buildDist(projectRoot);
    }

    const fake = group.add(await startFakeProvider(projectRoot, PROVIDER_KEY, { chunkDelayMs: CHUNK_DELAY_MS }));
    const ctx: StartContext = { projectRoot, dir, group, peersDir: PEERS_DIR, fake: { url: fake.url, apiKey: PROVIDER_KEY }, model: MODEL };
    const running: Contender[] = [];
    const unavailable: Record<string, string> = {};
    for (const spec of SPECS) {
      if (!SELECTED.has(spec.name)) {
        unavailable[spec.name] = 'not selected (BENCH_CONTENDERS)';
        continue;
      }
      write(`starting ${spec.name}… `);
      try {
        const contender = await spec.start(ctx);
        await smokeCheck(contender, poolOf(contender));
        running.push(contender);
        write(`${contender.label} ${contender.version} at ${contender.origin}\n`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        unavailable[spec.name] = message;
        write(`COULD NOT RUN: ${message.split('\n').slice(0, 6).join('\n    ')}\n`);
      }
    }
    if (!running.some((c) => c.name === 'direct')) throw new Error('direct → fake did not run: nothing can be measured against it');
    fakePid = fake.pid;
    // Our children (the Go generator included) and the contenders' processes.
    ourPids = () => processTrees([process.pid, fake.pid, ...running.flatMap((c) => c.roots())]).filter((pid) => pid !== process.pid);

    await sleep(3000);
    const idleRssMb = Object.fromEntries(running.map((c) => [c.name, c.roots().length ? Math.round(rssOfMb(processTrees(c.roots())) * 10) / 10 : null]));
    write(`idle RSS (MiB): ${running.map((c) => `${c.name} ${idleRssMb[c.name] ?? '—'}`).join(', ')}\n`);

    const fixed: FixedRun[] = [];
    for (let rep = 1; rep <= REPS; rep++) {
      for (const rps of RATES) {
        write(`\nfixed rate ${rps} RPS, repetition ${rep}/${REPS}\n`);
        // Every other repetition in reverse order, so a slow drift of the machine does not favour one contender.
        for (const contender of rep % 2 ? running : [...running].reverse()) {
          fixed.push(await fixedRate(contender, rps, rep));
        }
      }
    }
    write('\nmax throughput\n');
    const max: MaxRun[] = [];
    for (const contender of running) max.push(await maxThroughput(contender));
    write(`\nstreaming (${STREAM_CONTENT_CHUNKS} content chunks, ${CHUNK_DELAY_MS} ms apart)\n`);
    const streams: StreamRun[] = [];
    for (const contender of running) streams.push(await streaming(contender));

    const versionInfo: Record<string, string> = { ...versions(projectRoot) };
    for (const contender of running) if (['litellm', 'portkey'].includes(contender.name)) versionInfo[contender.name] = contender.version;
    if (GENERATOR === 'go') versionInfo.go = goVersion();
    const results = buildPeersResults({
      date: new Date().toISOString(),
      trial: TRIAL,
      machine: { ...machine },
      versions: versionInfo,
      command: commandLine(projectRoot),
      settings: {
        fixed_rate: { rates: RATES, seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, repetitions: REPS, aggregate: 'median of the repetitions per percentile; added = contender − direct' },
        generator: GENERATOR === 'go'
          ? { name: 'go', source: 'test/bench/loadgen', version: goVersion(), process: 'its own process (Go, standard library HTTP/1.1 over keep-alive connections)' }
          : { name: 'node', source: 'test/bench/lib/paced-load.ts, closed-loop.ts', version: `undici ${versionInfo.undici ?? '?'}`, process: 'inside the benchmark\'s Node process' },
        load: GENERATOR === 'go'
          ? `open loop: request i scheduled at t0 + i/rps, latency from the scheduled time; keep-alive connections opened on demand, ${FIXED_CONNECTIONS || 'no'} at most, one request at a time each; the warm-up runs on the same connections; repetitions alternate the contender order`
          : `open loop: request i scheduled at t0 + i/rps, latency from the scheduled time (undici Pool, ${FIXED_CONNECTIONS || 128} connections, pipelining 1); repetitions alternate the contender order`,
        max_throughput: { connections: MAX_CONNECTIONS, seconds: MAX_SECONDS, warmup_seconds: MAX_WARMUP_SECONDS, load: 'closed loop: each connection sends the next request when the last answer is read' },
        streaming: { rps: STREAM_RPS, seconds: STREAM_SECONDS, chunk_spacing_ms: CHUNK_DELAY_MS, ttft: 'scheduled send → first non-empty delta.content event', inter_chunk: 'p50 gap between content events of one stream' },
        stream_content_chunks: STREAM_CONTENT_CHUNKS,
        body: {
          kind: BODY_KIND,
          bytes: Buffer.byteLength(chatBodies(`${runTag}.500.1.1`)(0)),
          example: chatBodies(`${runTag}.500.1.1`)(0),
          description: BODY_KIND === 'realistic'
            ? 'POST /v1/chat/completions: a system message, a user prompt with a unique reference per request (the same sequence for every contender), max_tokens and user; model gpt-4o-mini'
            : 'POST /v1/chat/completions: one short user message with a unique suffix per request (the same sequence for every contender); model gpt-4o-mini',
        },
        bodies: 'streams: 4-word prompts',
        rss: 'summed VmRSS of each gateway\'s process tree, idle after the smoke requests and peak (250 ms samples) over all its load runs',
        cpu: 'user + system CPU seconds of the gateway\'s process tree during the fixed-rate runs at the highest rate, per 10k answered requests',
        cpu_ms_per_request: 'per process (each one\'s tree: tollgate, envoy, redis, portkey, litellm, the fake provider, the generator): utime + stime from /proc/<pid>/stat just before and after each measured run (warm-up excluded), summed over the repetitions, divided by the 2xx answers',
        max_foreign_cpu_pct: MAX_FOREIGN_CPU_PCT,
        attempts: ATTEMPTS,
        all_running: 'every contender runs (idle) during every measurement; the load generator, the fake and the gateways share the machine\'s cores',
      },
      specs: SPECS,
      running,
      unavailable,
      idleRssMb,
      fixed,
      max,
      streams,
      rates: RATES,
    });
    const missed = results.target.met === false;
    const tollgateRan = running.some((c) => c.name === 'tollgate-full');
    if (tollgateRan && (PROFILE === '1' || (PROFILE !== '0' && missed))) {
      Object.assign(results, { profile: await profileTollgateFull(ctx, Math.max(...RATES)) });
    }
    mkdirSync(resolve(OUT, '..'), { recursive: true });
    await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
    write(`\n${peersMarkdown(results)}\n\nResults: ${relative(projectRoot, OUT)}\n`);
  } finally {
    await Promise.all(allPools.map((pool) => pool.destroy().catch(() => undefined)));
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`peer benchmark failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
