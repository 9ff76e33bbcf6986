import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { envoyBinary } from '../../../src/envoy/envoy-process.ts';

/** What every results file records about the run: the machine, the versions, the exact command. */

export interface MachineInfo {
  cores: number;
  model: string;
  memory_gib: number;
  os: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memory_gib: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** Node, Envoy (from `envoy --version`), Tollgate and the load generator's undici. */
export function versions(projectRoot: string): { node: string; envoy: string; tollgate: string; undici: string } {
  let envoy = 'unknown';
  try {
    const text = execFileSync(envoyBinary(projectRoot), ['--version'], { encoding: 'utf8' });
    envoy = /version: \S+?\/([^/\s]+)\//.exec(text)?.[1] ?? text.trim();
  } catch {
    // keep unknown
  }
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string; devDependencies?: Record<string, string> };
  return { node: process.version, envoy, tollgate: pkg.version, undici: pkg.devDependencies?.undici ?? 'unknown' };
}

/** This process's command line as a shell command: its BENCH_* variables, node, the script (relative to the project). */
export function commandLine(projectRoot: string): string {
  return [
    ...Object.entries(process.env).filter(([key]) => key.startsWith('BENCH_')).map(([key, value]) => `${key}=${value}`),
    'node_modules/.bin/node',
    ...process.argv.slice(1).map((arg) => relative(projectRoot, arg) || arg),
  ].join(' ');
}
