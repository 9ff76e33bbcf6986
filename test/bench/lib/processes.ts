import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { envoyBinary, startEnvoy, waitForEnvoyReady, type EnvoyProcess } from '../../../src/envoy/envoy-process.ts';
import { spawnWithWatchdog } from '../../../src/process/watchdog.ts';

/**
 * The processes of the benchmark, each its own OS process so its RSS and CPU time can be read from /proc:
 * the fake provider and Tollgate (Node), and Envoy (under src/envoy's watchdog).
 */

export interface Stoppable {
  stop(): Promise<void>;
}

/** Everything started, stopped in reverse order on exit (also on SIGINT/SIGTERM). */
export class ProcessGroup {
  private readonly members: Stoppable[] = [];

  add<T extends Stoppable>(member: T): T {
    this.members.push(member);
    return member;
  }

  remove(member: Stoppable): void {
    const at = this.members.indexOf(member);
    if (at !== -1) this.members.splice(at, 1);
  }

  async stopAll(): Promise<void> {
    while (this.members.length) {
      const member = this.members.pop() as Stoppable;
      await member.stop().catch(() => undefined);
    }
  }
}

export interface WatchedProcess extends Stoppable {
  /** The pid of the program itself (not of its watchdog shell). */
  readonly pid: number;
  readonly exited: Promise<number | null>;
  /** Output lines seen so far (only when not redirected to a file). */
  readonly output: string[];
}

/**
 * Starts `command args…` under src/process's watchdog (no orphans, even if the benchmark is killed) and waits until
 * its pid is known and, with readyLine, until a line of output shows it is up.
 * With logFile, the program's stdout/stderr go to that file (never through this process, the load generator).
 */
export async function startWatched(options: {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile?: string;
  /** Resolves when a line of output shows the program is up; the value is returned as `ready`. */
  readyLine?: RegExp;
  onLine?: (line: string) => void;
}): Promise<WatchedProcess & { ready: RegExpExecArray | null }> {
  const output: string[] = [];
  let ready: RegExpExecArray | null = null;
  let onReady: () => void = () => undefined;
  const readyNow = new Promise<void>((resolve) => { onReady = resolve; });
  const child = spawnWithWatchdog({
    command: options.command,
    args: options.args,
    cwd: options.cwd,
    env: options.env,
    logFile: options.logFile,
    onLine: (line) => {
      if (output.length < 200) output.push(line);
      if (options.readyLine && !ready) {
        ready = options.readyLine.exec(line);
        if (ready) onReady();
      }
      options.onLine?.(line);
    },
  });
  if (!options.readyLine) onReady();
  let timer: NodeJS.Timeout | undefined;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${options.command} did not start in time:\n${output.join('\n')}`)), 20_000);
    void child.exited.then((code) => reject(new Error(`${options.command} exited with ${code} while starting:\n${output.join('\n')}`)));
  });
  failure.catch(() => undefined);
  try {
    const [pid] = await Promise.race([Promise.all([child.pid, readyNow]), failure]);
    return { pid, exited: child.exited, output, ready, stop: () => child.stop() };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The strict fake provider (test/fakes/openai-provider.ts) with zero latency and nothing recorded; with chunkDelayMs,
 * stream chunks are that far apart (JSON answers stay immediate).
 */
export async function startFakeProvider(projectRoot: string, apiKey: string, options: { chunkDelayMs?: number } = {}): Promise<WatchedProcess & { url: string }> {
  const started = await startWatched({
    command: process.execPath,
    args: ['--no-warnings=ExperimentalWarning', join(projectRoot, 'test/fakes/openai-provider.ts'), '--port', '0', '--no-record', '--api-key', apiKey,
      ...(options.chunkDelayMs ? ['--chunk-delay-ms', String(options.chunkDelayMs)] : [])],
    cwd: projectRoot,
    readyLine: /^FAKE_OPENAI_URL=(\S+)/,
  });
  const url = started.ready?.[1];
  if (!url) throw new Error('the fake provider printed no URL');
  return Object.assign(started, { url });
}

/** The V8 flags of bin/tollgate and of the container image's ENTRYPOINT (BENCH_TOLLGATE_FLAGS replaces them, for experiments). */
const IMAGE_NODE_FLAGS = (process.env.BENCH_TOLLGATE_FLAGS ?? '--max-semi-space-size=4 --heap-growing-percent=100').split(' ').filter(Boolean);

/**
 * Builds dist/ (npm run build) for contenders that run the compiled JavaScript, laid out as the container image is
 * (Dockerfile): the compiled src/ beside the project's config/ (pricing and defaults are read from ../config).
 */
export function buildDist(projectRoot: string): void {
  execFileSync('npm', ['run', '--silent', 'build'], {
    cwd: projectRoot, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PATH: `${join(projectRoot, 'node_modules/.bin')}:${process.env.PATH}` },
  });
  if (!existsSync(join(projectRoot, 'dist/config'))) symlinkSync('../config', join(projectRoot, 'dist/config'));
}

/** `bin/tollgate serve --config FILE`, output to logFile; waits for its admin /healthz. */
export async function startTollgateServe(options: {
  projectRoot: string;
  configPath: string;
  adminUrl: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  nodeOptions?: string;
  /**
   * Extra node arguments (V8 flags NODE_OPTIONS refuses, e.g. --trace-gc, --single-threaded-gc): then node runs
   * src/cli/main.ts directly, as bin/tollgate would, with these in front.
   */
  nodeArgs?: string[];
  /** Extra `serve` arguments, e.g. --extproc-port/--admin-port for a second process on the same config. */
  serveArgs?: string[];
  /**
   * `dist`: the compiled JavaScript (npm run build), run as the container image runs it (Dockerfile ENTRYPOINT: the
   * same V8 flags as bin/tollgate). `src` (default): the .ts sources through bin/tollgate, as in development; Node's
   * type stripping then adds ~20 MB of RSS and compile work at start.
   */
  runFrom?: 'src' | 'dist';
}): Promise<WatchedProcess> {
  const direct = options.runFrom === 'dist'
    ? {
        command: join(options.projectRoot, 'node_modules/.bin/node'),
        args: [...IMAGE_NODE_FLAGS, ...(options.nodeArgs ?? []), join(options.projectRoot, 'dist/src/cli/main.js')],
      }
    : options.nodeArgs?.length
    ? {
        command: join(options.projectRoot, 'node_modules/.bin/node'),
        args: [...(options.nodeArgs ?? []), '--no-warnings=ExperimentalWarning', join(options.projectRoot, 'src/cli/main.ts')],
      }
    : { command: join(options.projectRoot, 'bin/tollgate'), args: [] };
  const started = await startWatched({
    command: direct.command,
    args: [...direct.args, 'serve', '--config', options.configPath, ...(options.serveArgs ?? [])],
    cwd: options.projectRoot,
    env: {
      // As the image's ENV sets it (bin/tollgate sets it for src runs).
      ...(options.runFrom === 'dist' ? { MALLOC_ARENA_MAX: '2' } : {}),
      ...options.env, ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
    },
    logFile: options.logFile,
  });
  const deadline = Date.now() + 20_000;
  let exitCode: number | null | undefined;
  void started.exited.then((code) => { exitCode = code; });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`tollgate serve exited with ${exitCode}:\n${readFileSync(options.logFile, 'utf8')}`);
    if (await fetch(`${options.adminUrl}/healthz`).then((r) => r.ok, () => false)) return started;
    await new Promise((r) => setTimeout(r, 50));
  }
  await started.stop();
  throw new Error(`tollgate serve was not healthy in time:\n${readFileSync(options.logFile, 'utf8')}`);
}

export interface RunningEnvoy extends Stoppable {
  /** Envoy's own pid (the watchdog's child), for /proc. */
  readonly pid: number;
  readonly adminUrl: string;
  readonly process: EnvoyProcess;
}

/** Starts Envoy on a config file with src/envoy's watchdog (--concurrency 2, like the gateway) and waits for /ready. */
export async function startEnvoyAt(projectRoot: string, configPath: string, adminPort: number): Promise<RunningEnvoy> {
  const lines: string[] = [];
  const envoy = startEnvoy({
    binary: envoyBinary(projectRoot),
    configPath,
    logLevel: 'warn',
    onOutput: (line) => { if (lines.length < 200) lines.push(line); },
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    await waitForEnvoyReady(adminUrl, envoy);
  } catch (error) {
    await envoy.stop();
    throw new Error(`${(error as Error).message}\n${lines.join('\n')}`);
  }
  return { pid: await envoy.pid, adminUrl, process: envoy, stop: () => envoy.stop() };
}

/**
 * A minimal static Envoy: one listener → one HTTP/1.1 cluster (the fake), router filter only. Same listener and
 * cluster buffer limit, circuit breakers, upstream idle timeout and route timeout (0) as Tollgate's rendered config.
 */
export async function writeBareEnvoyConfig(path: string, options: {
  listenerPort: number;
  adminPort: number;
  upstreamHost: string;
  upstreamPort: number;
  bufferLimitBytes: number;
}): Promise<void> {
  const cluster = 'fake_provider';
  const config = {
    node: { id: 'bench-bare', cluster: 'bench' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: options.adminPort } } },
    static_resources: {
      listeners: [{
        name: 'bare',
        address: { socket_address: { address: '127.0.0.1', port_value: options.listenerPort } },
        per_connection_buffer_limit_bytes: options.bufferLimitBytes,
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'bare',
              codec_type: 'AUTO',
              normalize_path: true,
              merge_slashes: true,
              route_config: {
                name: 'bare',
                virtual_hosts: [{
                  name: 'bare',
                  domains: ['*'],
                  routes: [{
                    match: { prefix: '/' },
                    route: { cluster, timeout: '0s', host_rewrite_literal: `${options.upstreamHost}:${options.upstreamPort}` },
                  }],
                }],
              },
              http_filters: [{
                name: 'envoy.filters.http.router',
                typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
              }],
            },
          }],
        }],
      }],
      clusters: [{
        name: cluster,
        type: 'STATIC',
        connect_timeout: '5s',
        per_connection_buffer_limit_bytes: options.bufferLimitBytes,
        circuit_breakers: {
          thresholds: [{ max_connections: 10000, max_pending_requests: 10000, max_requests: 10000, max_retries: 50 }],
        },
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http_protocol_options: {} },
            common_http_protocol_options: { idle_timeout: '60s' },
          },
        },
        load_assignment: {
          cluster_name: cluster,
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: options.upstreamHost, port_value: options.upstreamPort } } },
            }],
          }],
        },
      }],
    },
  };
  await writeFile(path, stringify(config));
}

// ───────────────────────────────────────────────────────────────── /proc

/** VmRSS and VmHWM (peak RSS, kept by the kernel) of a process, in MiB; null when it is gone. */
export function readMemoryMb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100;

/** User + system CPU time of a process (all its threads), in seconds. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": state is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS every intervalMs; peak and last value. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  peakMb = 0;
  lastMb = 0;
  samples = 0;
  private readonly pid: number;

  constructor(pid: number) {
    this.pid = pid;
  }

  start(intervalMs = 250): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): number {
    const memory = readMemoryMb(this.pid);
    if (memory) {
      this.lastMb = memory.rss;
      this.peakMb = Math.max(this.peakMb, memory.rss);
      this.samples += 1;
    }
    return this.lastMb;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Busy CPU time of the whole machine (all cores) since boot, in seconds, from /proc/stat. */
function readBusyCpuSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

/**
 * This machine may be shared (other test runs): waits until the CPU time used by processes other than ours stays
 * under maxForeignPct (% of one core) for a 1 s window, or until timeoutMs. Returns how long it waited.
 */
export async function waitForQuiet(ourPids: () => number[], maxForeignPct: number, timeoutMs: number): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = performance.now();
  let quiet = false;
  while (!quiet && performance.now() - started < timeoutMs) quiet = (await foreignCpu(ourPids, 1000)) <= maxForeignPct;
  return { waitedMs: Math.round(performance.now() - started), quiet };
}

/** CPU used by other processes than ours over a window, in % of one core. */
async function foreignCpu(ourPids: () => number[], windowMs: number): Promise<number> {
  const meter = startForeignCpuMeter(ourPids);
  await new Promise((r) => setTimeout(r, windowMs));
  return meter.stop();
}

/** Starts measuring the CPU used by other processes than ours (and this one); stop() gives % of one core. */
export function startForeignCpuMeter(ourPids: () => number[]): { stop(): number } {
  const pids = ourPids();
  const ours = () => pids.reduce((sum, pid) => sum + (readCpuSeconds(pid) || 0), 0) + cpuOfSelf();
  const busy0 = readBusyCpuSeconds();
  const ours0 = ours();
  const wall0 = performance.now();
  return {
    stop() {
      const wallSeconds = (performance.now() - wall0) / 1000;
      const foreign = readBusyCpuSeconds() - busy0 - (ours() - ours0);
      return Math.max(0, Math.round((foreign / wallSeconds) * 1000) / 10);
    },
  };
}

function cpuOfSelf(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** The diagnostic no-op ext_proc server (lib/noop-extproc.ts), its own process. */
export async function startNoopExtproc(projectRoot: string, route: string, credential: string, options: { args?: string[]; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<WatchedProcess & { port: number }> {
  const started = await startWatched({
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), '--no-warnings=ExperimentalWarning', join(projectRoot, 'test/bench/lib/noop-extproc.ts'),
      '--port', '0', '--route', route, '--credential', credential, ...(options.args ?? [])],
    env: options.env ?? process.env,
    cwd: projectRoot,
    readyLine: /^NOOP_EXTPROC_PORT=(\d+)/,
  });
  return Object.assign(started, { port: Number(started.ready?.[1]) });
}

/** Time the threads of a process spent runnable but waiting for a CPU, in ms (summed over the schedstat of its threads). */
export function readRunqueueWaitMs(pid: number): number {
  let total = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        const fields = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').trim().split(' ');
        total += Number(fields[1]) / 1e6;
      } catch {
        // thread gone
      }
    }
  } catch {
    return Number.NaN;
  }
  return total;
}

/** PSI: total µs during which some task waited for a CPU (/proc/pressure/cpu), or NaN without PSI. */
export function readCpuPressureUs(): number {
  try {
    const some = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return some ? Number(some[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
