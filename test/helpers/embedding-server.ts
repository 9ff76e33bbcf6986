import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const EMBEDDING_MODEL = 'all-MiniLM-L6-v2';

export interface EmbeddingServer {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:1234/v1 */
  url: string;
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname, '../..');
const START_TIMEOUT_MS = 60_000;

/**
 * Starts the local OpenAI-compatible embeddings server with the real all-MiniLM-L6-v2 model
 * (test/helpers/embedding-server/minilm_server.py, packages installed into .venv/ by scripts/setup).
 */
export async function startEmbeddingServer(options: { apiKey?: string } = {}): Promise<EmbeddingServer> {
  const python = resolve(root, '.venv/bin/python');
  if (!existsSync(python)) throw new Error('.venv/bin/python is missing: run scripts/setup');
  const args = [resolve(root, 'test/helpers/embedding-server/minilm_server.py'), '--port', '0'];
  if (options.apiKey) args.push('--api-key', options.apiKey);
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let output = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`embedding server did not start in time:\n${output}`)), START_TIMEOUT_MS);
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
      reject(new Error(`embedding server exited (${code}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    },
  };
}
