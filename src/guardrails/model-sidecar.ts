import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { projectRoot } from '../cli/paths.ts';

export interface ModelSidecar {
  /** Base URL: POST {url}/v1/injection, OpenAI-compatible embeddings at {url}/v1. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts Tollgate's model sidecar (sidecars/minilm/server.py: all-MiniLM-L6-v2 embeddings and the prompt-injection
 * classifier, numpy, packages from scripts/setup in .venv/) on a free loopback port, and resolves once it is loaded
 * and warm. Used by `tollgate injection-scan` and the tests; in production run the same script as a sidecar.
 */
export async function startModelSidecar(options: { apiKey?: string; timeoutMs?: number } = {}): Promise<ModelSidecar> {
  const python = resolve(projectRoot, '.venv/bin/python');
  if (!existsSync(python)) throw new Error('.venv/bin/python is missing: run scripts/setup');
  const args = [resolve(projectRoot, 'sidecars/minilm/server.py'), '--port', '0'];
  if (options.apiKey) args.push('--api-key', options.apiKey);
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let output = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`model sidecar did not start in time:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
      const match = /listening on (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`model sidecar exited (${code}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    },
  };
}
