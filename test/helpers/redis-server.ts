import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './free-port.ts';

export interface RedisServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const START_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 10_000;

/**
 * Asks whoever listens on the port for its pid (raw `INFO server` over RESP). Checking the pid, not just that
 * something answers, makes sure we never hand out a redis-server of another test process that won the port.
 */
async function serverPid(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    const done = (pid: number | null): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(500, () => done(null));
    socket.once('error', () => done(null));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.startsWith('-')) return done(null); // e.g. -LOADING
      const match = /process_id:(\d+)\r\n/.exec(reply);
      if (match?.[1]) done(Number(match[1]));
    });
    socket.once('end', () => done(null));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type StartOutcome = { kind: 'ready' } | { kind: 'port-taken' } | { kind: 'failed'; error: Error };

/**
 * Starts a real `redis-server` (no persistence) on a free loopback port and waits until it answers (checked by its pid).
 * The binary is `redis-server` on PATH, or `$REDIS_SERVER_BIN`. A process 'exit' hook kills it if the test
 * process ends without calling stop().
 */
export async function startRedisServer(): Promise<RedisServerHandle> {
  const binary = process.env['REDIS_SERVER_BIN'] ?? 'redis-server';
  let lastError: Error | null = null;

  for (let attempt = 0; attempt < START_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    const child = spawn(
      binary,
      ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000)));

    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);

    const outcome = await waitUntilReady(child, port, () => output);
    if (outcome.kind === 'ready') {
      return {
        url: `redis://${HOST}:${port}`,
        port,
        stop: async () => {
          process.off('exit', killOnExit);
          await stopChild(child);
        },
      };
    }
    process.off('exit', killOnExit);
    await stopChild(child);
    if (outcome.kind === 'failed') throw outcome.error;
    // Someone took the port between our probe and redis' bind: try another one.
    lastError = new Error(`redis-server could not bind port ${port}: ${output.trim()}`);
  }
  throw lastError ?? new Error('redis-server did not start');
}

async function waitUntilReady(child: ChildProcess, port: number, output: () => string): Promise<StartOutcome> {
  // Written by the listeners below; an object so that TypeScript does not narrow the fields to their initial values.
  const state: { spawnError: NodeJS.ErrnoException | null; exited: boolean } = { spawnError: null, exited: false };
  child.once('error', (error: NodeJS.ErrnoException) => (state.spawnError = error));
  child.once('exit', () => (state.exited = true));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const failure = state.spawnError;
    if (failure !== null) {
      if (failure.code === 'ENOENT') {
        return {
          kind: 'failed',
          error: new Error(
            'redis-server was not found on PATH (nor in $REDIS_SERVER_BIN). Run scripts/setup to install it ' +
              '(Debian package redis-server).',
          ),
        };
      }
      return { kind: 'failed', error: new Error(`could not start redis-server: ${failure.message}`) };
    }
    if (state.exited) {
      return /address already in use/i.test(output())
        ? { kind: 'port-taken' }
        : { kind: 'failed', error: new Error(`redis-server exited early: ${output().trim()}`) };
    }
    if ((await serverPid(port)) === child.pid) return { kind: 'ready' };
    await sleep(25);
  }
  return { kind: 'failed', error: new Error(`redis-server did not answer within ${READY_TIMEOUT_MS} ms`) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed, so there is nothing to stop (and no 'exit' would ever come).
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * For a test file: starts a real redis-server before its tests, stops it after, and gives an admin client for
 * flushing and inspecting what the code under test wrote.
 */
export function useRedisServer(): { readonly url: string; readonly admin: Redis } {
  let server: RedisServerHandle | null = null;
  let admin: Redis | null = null;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });
  return {
    get url() {
      if (!server) throw new Error('redis-server is not started yet');
      return server.url;
    },
    get admin() {
      if (!admin) throw new Error('redis-server is not started yet');
      return admin;
    },
  };
}
