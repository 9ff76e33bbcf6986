import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { ClosedLoadResult } from './closed-loop.ts';
import type { LatencySummary } from './percentiles.ts';
import type { PacedLoadResult } from './paced-load.ts';

/**
 * The Go load generator (test/bench/loadgen, standard library only): low CPU per request and outside the Node
 * runtime the gateways run on. Built on demand with `go build` into test/bench/.bin/ (ignored by git), one binary
 * per hash of its sources, so an edited generator is rebuilt and an unchanged one is not.
 */

const SOURCE_DIR = resolve(import.meta.dirname, '../loadgen');
const BIN_DIR = resolve(import.meta.dirname, '../.bin');

let goVersionText: string | null = null;

/** The Go toolchain's version (`go env GOVERSION`), which built the generator; 'unknown' without Go. */
export function goVersion(): string {
  goVersionText ??= spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  return goVersionText;
}

/** The built generator's path, building it first when its sources changed (`go` must be on PATH). */
export function loadgenBinary(): string {
  const files = readdirSync(SOURCE_DIR).filter((file) => file.endsWith('.go') || file === 'go.mod').sort();
  const hash = createHash('sha256').update(`${process.platform}-${process.arch}\n`);
  for (const file of files) hash.update(`${file}\n`).update(readFileSync(join(SOURCE_DIR, file)));
  const binary = join(BIN_DIR, `loadgen-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(BIN_DIR, { recursive: true });
  const building = `${binary}.${process.pid}.tmp`;
  const built = spawnSync('go', ['build', '-trimpath', '-o', building, '.'], {
    cwd: SOURCE_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOWORK: 'off', GOFLAGS: '' },
    encoding: 'utf8',
  });
  if (built.error) throw new Error(`cannot run \`go build\` for the load generator (is Go on PATH?): ${built.error.message}`);
  if (built.status !== 0) throw new Error(`go build of test/bench/loadgen failed:\n${built.stderr}`);
  renameSync(building, binary); // atomic: a concurrent build of the same sources just replaces it
  for (const old of readdirSync(BIN_DIR)) {
    if (old.startsWith('loadgen-') && join(BIN_DIR, old) !== binary && !old.endsWith('.tmp')) rmSync(join(BIN_DIR, old), { force: true });
  }
  return binary;
}

export interface LoadgenOptions {
  url: string;
  mode: 'open' | 'closed';
  /** Open loop: requests per second. */
  rate?: number;
  /** Open loop: most connections at once (0 or unset: on demand, no cap); closed loop: workers, one connection each. */
  connections?: number;
  durationMs: number;
  warmupMs?: number;
  headers?: Record<string, string>;
  /** The body; with unique, every "{{n}}" in it becomes "<tag>-<index, 6 digits>" ("w<tag>-…" during the warm-up). */
  body?: string;
  unique?: boolean;
  tag?: string;
  /** Per request, the whole exchange (default 10 s). */
  timeoutMs?: number;
  /**
   * Called when the warm-up is over, just before the measured phase starts (which waits for it), and when the
   * measured phase has drained, before the generator summarises: the place to read other processes' CPU time.
   */
  onReady?: (pid: number) => void | Promise<void>;
  onDone?: (pid: number) => void | Promise<void>;
}

type GoSummary = { count: number } & Partial<Omit<LatencySummary, 'count'>>;

/** loadgen's JSON (see test/bench/loadgen/report.go). */
export interface LoadgenOutput {
  mode: 'open' | 'closed';
  url: string;
  rate?: number;
  connections: number;
  duration_s: number;
  warmup_s: number;
  tag: string;
  scheduled: number;
  requests: number;
  ok: number;
  errors: number;
  errors_by_status: Record<string, number>;
  errors_by_transport: Record<string, number>;
  error_samples: string[];
  achieved_rps: number;
  send_rate: number;
  max_inflight: number;
  connections_opened: number;
  latency_ms: GoSummary;
  service_ms: GoSummary;
  send_lag_ms: GoSummary;
  request_bytes: { min: number; max: number };
  response_bytes: number;
  /** The generator's own user + system CPU time over the measured phase (getrusage). */
  cpu_ms: number;
  cpu_ms_per_request: number;
  max_rss_mb: number;
  wall_s: number;
}

/** Runs the generator once (warm-up, then the measured phase) and returns its result. */
export async function runLoadgen(options: LoadgenOptions): Promise<LoadgenOutput> {
  const binary = loadgenBinary();
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-loadgen-'));
  try {
    const args = [
      '-url', options.url, '-mode', options.mode, '-d', `${options.durationMs}ms`, '-warmup', `${options.warmupMs ?? 0}ms`,
      '-timeout', `${options.timeoutMs ?? 10_000}ms`, '-sync',
    ];
    if (options.rate !== undefined) args.push('-rate', String(options.rate));
    if (options.connections !== undefined) args.push('-connections', String(options.connections));
    if (options.tag !== undefined) args.push('-tag', options.tag);
    if (options.unique) args.push('-unique');
    for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
    if (options.body !== undefined) {
      const bodyFile = join(dir, 'body');
      await writeFile(bodyFile, options.body);
      args.push('-body', bodyFile);
    }
    return await new Promise<LoadgenOutput>((resolvePromise, reject) => {
      const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const pid = child.pid as number;
      let stdout = '';
      let stderr = '';
      let partial = '';
      let failed: unknown = null;
      const step = (hook: ((pid: number) => void | Promise<void>) | undefined) => {
        Promise.resolve()
          .then(() => hook?.(pid))
          .catch((error: unknown) => { failed ??= error; })
          // The line lets loadgen go on; after a failed hook it still finishes (and is then reported as failed).
          .finally(() => { if (child.stdin.writable) child.stdin.write('\n'); });
      };
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line === 'loadgen: ready') step(options.onReady);
          else if (line === 'loadgen: done') step(options.onDone);
          else stderr += `${line}\n`;
        }
      });
      child.stdin.on('error', () => undefined); // it exited meanwhile: the exit says why
      child.once('error', reject);
      child.once('close', (code, signal) => {
        child.stdin.destroy();
        if (failed) return reject(failed);
        if (code !== 0) return reject(new Error(`loadgen exited with ${code ?? signal}: ${stderr.trim().slice(0, 1000)}`));
        try {
          resolvePromise(JSON.parse(stdout) as LoadgenOutput);
        } catch {
          reject(new Error(`loadgen printed no JSON: ${stdout.slice(0, 300)} ${stderr.slice(0, 300)}`));
        }
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function summary(go: GoSummary): LatencySummary {
  return {
    count: go.count,
    p50: go.p50 ?? Number.NaN, p90: go.p90 ?? Number.NaN, p99: go.p99 ?? Number.NaN, p999: go.p999 ?? Number.NaN,
    mean: go.mean ?? Number.NaN, max: go.max ?? Number.NaN,
  };
}

/** What a fixed-rate run of either generator reports (the Node generator's PacedLoadResult without its raw arrays). */
export type FixedLoadResult = Omit<PacedLoadResult, 'raw'> & {
  /** Latency from the actual send (the Go generator only). */
  service?: LatencySummary;
  connectionsOpened?: number;
  maxInflight?: number;
  requestBytes?: { min: number; max: number };
  /** The generator's own CPU over the measured phase, as it reports it. */
  generatorCpuMs?: number;
};

/** The Go generator's open-loop output in the shape of lib/paced-load.ts's result. */
export function toFixedLoadResult(out: LoadgenOutput): FixedLoadResult {
  return {
    rps: out.rate ?? 0,
    durationMs: out.duration_s * 1000,
    scheduled: out.scheduled,
    ok: out.ok,
    statuses: out.errors_by_status,
    errors: out.errors_by_transport,
    errorSamples: out.error_samples,
    unanswered: 0, // every request ends, at the latest at its timeout (a transport error)
    errorCount: out.errors,
    latency: summary(out.latency_ms),
    sendLag: summary(out.send_lag_ms),
    achievedRps: out.achieved_rps,
    responseBytes: out.response_bytes,
    service: summary(out.service_ms),
    connectionsOpened: out.connections_opened,
    maxInflight: out.max_inflight,
    requestBytes: out.request_bytes,
    generatorCpuMs: out.cpu_ms,
  };
}

/** The Go generator's closed-loop output in the shape of lib/closed-loop.ts's result. */
export function toClosedLoadResult(out: LoadgenOutput): ClosedLoadResult {
  const answered = out.ok + out.errors;
  return {
    connections: out.connections,
    durationMs: out.duration_s * 1000,
    ok: out.ok,
    statuses: out.errors_by_status,
    errors: out.errors_by_transport,
    errorSamples: out.error_samples,
    errorCount: out.errors,
    errorRate: answered ? Math.round((out.errors / answered) * 10_000) / 10_000 : 0,
    rps: out.achieved_rps,
    latency: summary(out.latency_ms),
  };
}
