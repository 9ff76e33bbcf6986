import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './free-port.ts';

export interface PostgresServerHandle {
  /** URL of the `postgres` database (superuser `tollgate`, trust auth on loopback). */
  url: string;
  port: number;
  /** Creates a fresh database and returns its URL (one per test keeps tests independent). */
  createDatabase(name: string): Promise<string>;
  /** The postmaster's pid (for SIGKILL / SIGSTOP in chaos tests). */
  readonly pid: number;
  /** SIGKILL of the postmaster: a crash without a goodbye (its backends exit when they notice). */
  kill(): Promise<void>;
  /** Starts the server again on the same data directory and port (after kill()), and waits until it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SUPERUSER = 'tollgate';
/** PostgreSQL refuses to run as root; Debian's package creates this system user. */
const SERVICE_USER = 'postgres';
const START_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 20_000;
const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Debian's server binaries (/usr/lib/postgresql/<major>/bin), the newest major, or $POSTGRES_BIN_DIR. */
function binDir(): string {
  const fromEnv = process.env['POSTGRES_BIN_DIR'];
  if (fromEnv) return fromEnv;
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((d) => existsSync(join(base, d, 'bin/postgres'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql; run scripts/setup (Debian package postgresql).');
  return join(base, newest, 'bin');
}

/**
 * As root, every server command runs as the unprivileged service user through `setpriv`, which execs in place
 * (the child's pid is the postmaster's, so signals reach it directly); as anyone else, directly.
 */
function asServiceUser(command: string, args: string[]): [string, string[]] {
  if (userInfo().uid !== 0) return [command, args];
  return ['setpriv', ['--reuid', SERVICE_USER, '--regid', SERVICE_USER, '--init-groups', '--', command, ...args]];
}

async function serviceIds(): Promise<{ uid: number; gid: number } | null> {
  if (userInfo().uid !== 0) return null;
  const { stdout: uid } = await run('id', ['-u', SERVICE_USER]);
  const { stdout: gid } = await run('id', ['-g', SERVICE_USER]);
  return { uid: Number(uid), gid: Number(gid) };
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts a real PostgreSQL server (initdb in a temp dir, trust auth, loopback only, no fsync: test data need not
 * survive a power cut) on a free port and waits until it answers queries. A process 'exit' hook kills it and
 * removes its directory if the test process ends without calling stop().
 */
export async function startPostgresServer(options: {
  /** Keep PostgreSQL's crash safety (fsync, synchronous commit): for tests that SIGKILL it and count what survived. */
  durable?: boolean;
} = {}): Promise<PostgresServerHandle> {
  const bin = binDir();
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-pg-'));
  const ids = await serviceIds();
  if (ids) chownSync(dataDir, ids.uid, ids.gid);
  const [initdb, initdbArgs] = asServiceUser(join(bin, 'initdb'), ['-D', dataDir, '-U', SUPERUSER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  await run(initdb, initdbArgs).catch((error: Error & { stderr?: string }) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${error.stderr ?? error.message}`);
  });

  const spawnOn = (port: number) => {
    const [postgres, args] = asServiceUser(join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', dataDir, '-c', `listen_addresses=${HOST}`,
      ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      '-c', 'max_connections=100',
    ]);
    const spawned = spawn(postgres, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { text: '' };
    const collect = (chunk: Buffer) => (out.text = (out.text + chunk.toString('utf8')).slice(-4000));
    spawned.stdout?.on('data', collect);
    spawned.stderr?.on('data', collect);
    return { child: spawned, out };
  };
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    let { child, out } = spawnOn(port);
    const killOnExit = (): void => {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    };
    process.on('exit', killOnExit);

    const url = `postgres://${SUPERUSER}@${HOST}:${port}/postgres`;
    const ready = await waitUntilReady(child, url);
    if (ready) {
      return {
        url,
        port,
        get pid() {
          return child.pid ?? -1;
        },
        async createDatabase(name) {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
          } finally {
            await client.end();
          }
          return `postgres://${SUPERUSER}@${HOST}:${port}/${encodeURIComponent(name)}`;
        },
        async kill() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          await new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          });
        },
        async restart() {
          // The killed postmaster's backends notice it is gone and exit; until then the port and the
          // shared memory may still be held, so the new one is tried a few times.
          const deadline = Date.now() + READY_TIMEOUT_MS;
          for (;;) {
            ({ child, out } = spawnOn(port));
            if (await waitUntilReady(child, url)) return;
            await stopChild(child);
            if (Date.now() > deadline) throw new Error(`postgres did not restart on port ${port}: ${out.text.trim()}`);
            await sleep(200);
          }
        },
        async stop() {
          process.off('exit', killOnExit);
          await stopChild(child);
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    }
    process.off('exit', killOnExit);
    await stopChild(child);
    lastError = new Error(`postgres did not start on port ${port}: ${out.text.trim()}`);
    // Only a port taken between our probe and its bind is worth another try.
    if (!/could not bind|address already in use/i.test(out.text)) break;
  }
  rmSync(dataDir, { recursive: true, force: true });
  throw lastError ?? new Error('postgres did not start');
}

async function waitUntilReady(child: ChildProcess, url: string): Promise<boolean> {
  const state = { exited: false };
  child.once('exit', () => (state.exited = true));
  child.once('error', () => (state.exited = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !state.exited) {
    if (await canQuery(url)) return true;
    await sleep(50);
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
    child.kill('SIGINT');
  });
}

/** For a test file: a real PostgreSQL server started before its tests and stopped after. */
export function usePostgresServer(): { readonly server: PostgresServerHandle } {
  let server: PostgresServerHandle | null = null;
  beforeAll(async () => {
    server = await startPostgresServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('postgres is not started yet');
      return server;
    },
  };
}
