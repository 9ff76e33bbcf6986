/**
 * Quota stage benchmark: what reserve-then-settle adds to a request, through real Envoy, in one run:
 *   Envoy + Tollgate without quotas   vs   Envoy + Tollgate with limits (key, app, team, org: RPM + TPM) and budgets
 *   (team daily + monthly), both on the same real Redis store with the usage ledger on (Redis Stream queue, SQLite
 *   sink), against the same zero-latency fake provider.
 * Runs alternate (without, with, without, with…) so drift on this shared machine hits both alike. Redis work per
 * request is counted around each run: commands by `INFO commandstats`, network reads by `total_reads_processed`
 * (one per round trip: a pipeline arrives in one read), and a short MONITOR run tells which client command belongs
 * to which phase (target: one round trip on the request path, one on settle).
 *
 *   node_modules/.bin/node test/bench/quota.ts     → test/bench/results/quota.json   (npm run bench:quota)
 *
 * Env: BENCH_RPS=500 BENCH_SECONDS=8 BENCH_WARMUP_SECONDS=2 BENCH_ROUNDS=2 BENCH_OUT=FILE
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { freePort } from '../helpers/free-port.ts';
import { createPool, runPacedLoad, type PacedLoadResult } from './lib/paced-load.ts';
import { difference, pick, type Percentiles } from './lib/percentiles.ts';
import { ProcessGroup, startEnvoyAt, startFakeProvider, startTollgateServe } from './lib/processes.ts';
import { startRedisProcess } from './lib/redis-process.ts';
import { machineInfo, versions } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const RPS = Number(process.env.BENCH_RPS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const OUT = resolve(process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/quota.json'));
const SEQUENTIAL_SAMPLE = 300;
const PROVIDER_KEY = 'sk-bench-provider-key';
const VIRTUAL_KEY = 'tg-bench-virtual-key-0123456789';
const MODEL = 'gpt-4o-mini';
const PATH = '/v1/chat/completions';
const write = (line: string) => process.stdout.write(line);

/** Limits far above the load: every request is reserved and settled, none is rejected. */
const QUOTAS = {
  limits: {
    key: { '*': { rpm: 10_000_000, tpm: 1_000_000_000 } },
    app: { '*': { tpm: 1_000_000_000 } },
    team: { '*': { rpm: 10_000_000, tpm: 1_000_000_000 } },
    org: { '*': { tpm: 1_000_000_000 } },
  },
  budgets: { team: { '*': { daily_usd: 1_000_000, monthly_usd: 10_000_000 } } },
};

function tollgateConfig(ports: Ports, envoyDir: string, fakeUrl: string, redisUrl: string, quotas: boolean, ledgerPath: string): string {
  return stringify({
    listener: { address: '127.0.0.1', port: ports.listener },
    envoy: { admin: { address: '127.0.0.1', port: ports.envoyAdmin }, config_dir: envoyDir },
    extproc: { address: '127.0.0.1', port: ports.extproc },
    admin: { address: '127.0.0.1', port: ports.admin, token_env: 'BENCH_ADMIN_TOKEN' },
    store: { type: 'redis', url: redisUrl },
    logging: { level: 'warn' },
    providers: { openai: { type: 'openai', base_url: fakeUrl, api_key_env: 'BENCH_PROVIDER_KEY' } },
    models: { [MODEL]: { provider: 'openai', kind: 'chat' } },
    orgs: { bench: { teams: { perf: { apps: { loadgen: {} } } } } },
    // A config key: authentication costs no Redis call, so the counted round trips are the quota and ledger stages'.
    keys: [{ key_env: 'BENCH_VIRTUAL_KEY', org: 'bench', team: 'perf', app: 'loadgen', name: 'bench' }],
    // The ledger's pending and final entries ride in the round trips of the quota scripts (when quotas are on).
    ledger: { sink: { type: 'sqlite', path: ledgerPath }, stream: { key: `tollgate:{ledger}:bench-${quotas ? 'with' : 'without'}` } },
    ...(quotas ? { quotas: QUOTAS } : {}),
  });
}

interface Ports {
  listener: number;
  envoyAdmin: number;
  extproc: number;
  admin: number;
}

interface Target {
  name: 'without' | 'with';
  origin: string;
}

/** Redis calls by command since the last CONFIG RESETSTAT. */
async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1] as string] = Number(match[2]);
  delete calls['info'];
  delete calls['config|resetstat'];
  return calls;
}

/** Socket reads Redis processed so far: a round trip's request (a single command or a whole pipeline) is one. */
async function readsProcessed(redis: Redis): Promise<number> {
  return Number(/^total_reads_processed:(\d+)/m.exec(await redis.info('stats'))?.[1] ?? 0);
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const SCRIPT_PHASES = Object.fromEntries(['reserve', 'settle'].map((name) =>
  [sha1(readFileSync(join(projectRoot, `src/quota/lua/${name}.lua`), 'utf8')), name]));

/** Which phase a client-sent command belongs to: the request path, settlement, or background work (ledger writer…). */
function phaseOf(args: string[]): { phase: 'request_path' | 'settle' | 'background'; name: string } {
  const command = String(args[0]).toLowerCase();
  if (command === 'evalsha' || command === 'eval') {
    const name = SCRIPT_PHASES[String(args[1])] ?? 'script';
    return { phase: name === 'reserve' ? 'request_path' : name === 'settle' ? 'settle' : 'background', name: `${command} ${name}` };
  }
  if (command === 'xadd') {
    const pending = String(args.at(-1)).includes('"state":"pending"');
    return { phase: pending ? 'request_path' : 'settle', name: `xadd ${pending ? 'pending' : 'final'}` };
  }
  return { phase: 'background', name: command };
}

async function main(): Promise<void> {
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-bench-quota-'));
  const stop = async () => {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const info = versions(projectRoot);
    write(`quota benchmark: ${RPS} RPS open-loop, ${ROUNDS} × ${SECONDS} s per target after ${WARMUP_SECONDS} s warm-up\n`);
    const fake = group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    const redisProcess = group.add(await startRedisProcess());
    const redis = new Redis(redisProcess.url);
    const env = { ...process.env, BENCH_PROVIDER_KEY: PROVIDER_KEY, BENCH_VIRTUAL_KEY: VIRTUAL_KEY, BENCH_ADMIN_TOKEN: 'bench-admin' };

    const targets: Target[] = [];
    for (const name of ['without', 'with'] as const) {
      const ports = { listener: await freePort(), envoyAdmin: await freePort(), extproc: await freePort(), admin: await freePort() };
      const envoyDir = join(dir, `envoy-${name}`);
      const configPath = join(dir, `tollgate-${name}.yaml`);
      await writeFile(configPath, tollgateConfig(ports, envoyDir, fake.url, redisProcess.url, name === 'with', join(dir, `ledger-${name}.sqlite`)));
      group.add(await startTollgateServe({ projectRoot, configPath, adminUrl: `http://127.0.0.1:${ports.admin}`, env, logFile: join(dir, `tollgate-${name}.log`) }));
      group.add(await startEnvoyAt(projectRoot, join(envoyDir, 'envoy.yaml'), ports.envoyAdmin));
      targets.push({ name, origin: `http://127.0.0.1:${ports.listener}` });
    }

    const headers = { 'content-type': 'application/json', authorization: `Bearer ${VIRTUAL_KEY}` };
    const bodyFor = (i: number) => JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: `benchmark request ${i}` }] });
    const runs: Record<Target['name'], PacedLoadResult[]> = { without: [], with: [] };
    const calls: Record<Target['name'], Array<{ requests: number; reads: number; commands: Record<string, number> }>> = { without: [], with: [] };
    for (const target of targets) {
      const pool = createPool(target.origin);
      await runPacedLoad(pool, { path: PATH, method: 'POST', headers, bodyFor, rps: RPS, durationMs: WARMUP_SECONDS * 1000 });
      await pool.close();
    }
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const target of targets) {
        const pool = createPool(target.origin);
        await redis.config('RESETSTAT');
        const readsBefore = await readsProcessed(redis);
        const result = await runPacedLoad(pool, { path: PATH, method: 'POST', headers, bodyFor, rps: RPS, durationMs: SECONDS * 1000 });
        // Settlement runs right after each answer: give the last ones a moment before reading the counters.
        await new Promise((r) => setTimeout(r, 500));
        // Less the two INFO calls of this measurement.
        const reads = (await readsProcessed(redis)) - readsBefore - 2;
        calls[target.name].push({ requests: result.ok + result.errorCount, reads, commands: await commandCalls(redis) });
        await pool.close();
        runs[target.name].push(result);
        write(`  ${target.name.padEnd(7)} round ${round + 1}: ok ${result.ok}, errors ${result.errorCount}, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms\n`);
      }
    }
    // Which client command belongs to which phase: MONITOR tells client-sent commands from those scripts ran
    // (source "lua"), which INFO commandstats counts alike; total_reads_processed counts the network round trips of
    // the same requests. A short separate sample, since MONITOR slows Redis down.
    const sampledRuns: Record<Target['name'], { requests: number; reads: number; byPhase: Record<string, Record<string, number>>; fromScripts: number }> =
      { without: { requests: 0, reads: 0, byPhase: {}, fromScripts: 0 }, with: { requests: 0, reads: 0, byPhase: {}, fromScripts: 0 } };
    for (const target of targets) {
      const sample = sampledRuns[target.name];
      const monitor = await redis.monitor();
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source === 'lua') {
          sample.fromScripts += 1;
          return;
        }
        const { phase, name } = phaseOf(args);
        const counts = (sample.byPhase[phase] ??= {});
        counts[name] = (counts[name] ?? 0) + 1;
      });
      // One request at a time: under load one socket read may carry commands of several requests, so only a
      // sequential sample gives reads = round trips.
      const readsBefore = await readsProcessed(redis);
      for (let i = 0; i < SEQUENTIAL_SAMPLE; i += 1) {
        const response = await fetch(`${target.origin}${PATH}`, { method: 'POST', headers, body: bodyFor(i) });
        await response.arrayBuffer();
        // Settlement runs right after the answer: let it finish before the next request.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      sample.reads = (await readsProcessed(redis)) - readsBefore - 2;
      sample.requests = SEQUENTIAL_SAMPLE;
      monitor.disconnect();
    }
    redis.disconnect();
    const per = (n: number, requests: number, digits = 3) => Number((n / Math.max(1, requests)).toFixed(digits));
    /**
     * Per phase: client commands per request, and network round trips per request. Every request-path and settle
     * command is sent as one pipeline per phase when quotas are on (one read each); background commands (ledger
     * writer, kill-switch refresh) are one read each, so round trips = reads − background commands.
     */
    const phases = (name: Target['name']) => {
      const sample = sampledRuns[name];
      const perPhase = Object.fromEntries(Object.entries(sample.byPhase).map(([phase, counts]) =>
        [phase, Object.fromEntries(Object.entries(counts).map(([command, n]) => [command, per(n, sample.requests)]))]));
      // A batch's ack is one pipeline (multi, xack, xdel, exec): one read, counted by its multi.
      const background = Object.entries(sample.byPhase.background ?? {})
        .filter(([command]) => !['xack', 'xdel', 'exec'].includes(command))
        .reduce((sum, [, n]) => sum + n, 0);
      return {
        sampled_requests: sample.requests,
        commands_per_request_by_phase: perPhase,
        network_reads_per_request: per(sample.reads, sample.requests),
        foreground_round_trips_per_request: per(sample.reads - background, sample.requests, 2),
        commands_inside_scripts_per_request: per(sample.fromScripts, sample.requests, 2),
      };
    };
    const roundTrips = { with_quota: phases('with'), without_quota: phases('without') };

    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const summary = (name: Target['name']): Percentiles => {
      const list = runs[name].map((r) => pick(r.latency));
      return { p50: median(list.map((p) => p.p50)), p90: median(list.map((p) => p.p90)), p99: median(list.map((p) => p.p99)) };
    };
    const perRequest = (name: Target['name']) => {
      const total: Record<string, number> = {};
      let requests = 0;
      let reads = 0;
      for (const run of calls[name]) {
        requests += run.requests;
        reads += run.reads;
        for (const [command, n] of Object.entries(run.commands)) total[command] = (total[command] ?? 0) + n;
      }
      const commands = Object.fromEntries(Object.entries(total).map(([command, n]) => [command, Number((n / Math.max(1, requests)).toFixed(3))]));
      return { network_reads: Number((reads / Math.max(1, requests)).toFixed(3)), commands };
    };
    const without = summary('without');
    const withQuota = summary('with');
    const result = {
      benchmark: 'quota stage overhead through Envoy (reserve + settle on Redis)',
      generated_at: new Date().toISOString(),
      machine: machineInfo(),
      versions: info,
      load: { rps: RPS, seconds_per_run: SECONDS, warmup_seconds: WARMUP_SECONDS, rounds: ROUNDS, model: MODEL, open_loop: true },
      quotas: QUOTAS,
      latency_ms: { without_quota: without, with_quota: withQuota, added: difference(withQuota, without) },
      redis_round_trips_per_request: roundTrips,
      redis_commandstats_per_request: { without_quota: perRequest('without'), with_quota: perRequest('with') },
      load_average_at_end: os.loadavg().map((n) => Number(n.toFixed(2))),
      note: 'PRELIMINARY latency figures: a short run on 2 cores shared with other work (see load_average_at_end); the lead reruns. ' +
        'Both targets run the usage ledger (Redis Stream queue). Phases (MONITOR, client-sent commands): request_path = evalsha reserve + xadd pending, ' +
        'settle = evalsha settle + xadd final; with quotas each phase is one ioredis pipeline (one network round trip; on Redis Cluster two concurrent ones, ' +
        'since the ledger stream hashes to another slot); without quotas the ledger stage sends its two XADDs alone (one round trip each). ' +
        'background = ledger batch writer (xreadgroup, xautoclaim, multi/xack/xdel/exec per batch) and kill-switch refresh (smembers), not per request. ' +
        'Round trips from a sequential sample (one request at a time, so one socket read = one round trip): network_reads = total_reads_processed ' +
        'per request, foreground_round_trips = reads minus background commands. Under load (redis_commandstats_per_request.network_reads) one read ' +
        'carries commands of several concurrent requests, so reads per request fall below the round trips. ' +
        'commandstats also counts the commands run inside the scripts. Latencies are medians over rounds of each run\'s percentiles; added = with - without.',
      runs: Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, list.map((r) => ({
        ok: r.ok, errors: r.errorCount, statuses: r.statuses, achieved_rps: Number(r.achievedRps.toFixed(1)), latency_ms: pick(r.latency),
      }))])),
    };
    mkdirSync(dirname(OUT), { recursive: true });
    await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
    write(`added p50 ${result.latency_ms.added.p50.toFixed(2)} ms, p99 ${result.latency_ms.added.p99.toFixed(2)} ms; ` +
      `Redis per request: ${JSON.stringify(roundTrips)}\n→ ${relative(projectRoot, OUT)}\n`);
  } finally {
    await stop();
  }
}

await main();
