/**
 * Command line shared by the fake providers:
 * `--port N [--host H] [--api-key K] [--chunk-delay-ms N] [--no-record] [--tls-cert FILE --tls-key FILE]`.
 */
import { readFileSync } from 'node:fs';
import type { FakeTlsOptions } from './http.ts';

export interface FakeCliOptions {
  port?: number;
  host?: string;
  apiKey?: string;
  chunkDelayMs?: number;
  recordBodies?: boolean;
  tls?: FakeTlsOptions;
}

export function parseCliArgs(argv: string[]): FakeCliOptions {
  const opts: FakeCliOptions = {};
  let certFile: string | undefined;
  let keyFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--port' && v !== undefined) { opts.port = Number(v); i++; }
    else if (a === '--host' && v !== undefined) { opts.host = v; i++; }
    else if (a === '--api-key' && v !== undefined) { opts.apiKey = v; i++; }
    else if (a === '--chunk-delay-ms' && v !== undefined) { opts.chunkDelayMs = Number(v); i++; }
    else if (a === '--no-record') { opts.recordBodies = false; }
    else if (a === '--tls-cert' && v !== undefined) { certFile = v; i++; }
    else if (a === '--tls-key' && v !== undefined) { keyFile = v; i++; }
  }
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (certFile !== undefined && keyFile !== undefined) opts.tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  return opts;
}

/** Starts a fake from the command line, prints `<readyName>=<url>` and runs until SIGINT/SIGTERM. */
export async function runFakeCli(
  start: (opts: FakeCliOptions) => Promise<{ url: string; close(): Promise<void> }>,
  readyName: string,
): Promise<void> {
  const fake = await start(parseCliArgs(process.argv.slice(2)));
  process.stdout.write(`${readyName}=${fake.url}\n`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
