import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RestartableRedis {
  url: string;
  /** The running server's pid (null while killed), e.g. for SIGSTOP / SIGCONT. */
  readonly pid: number | null;
  /** SIGKILL: an outage without a goodbye, as a crashed or partitioned Redis. */
  kill(): Promise<void>;
  /** A new, empty redis-server on the same port (clients reconnect by themselves). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server on a fixed port that a test can kill and start again, to test outages and recovery. */
export async function restartableRedis(port: number, options: { args?: string[] } = {}): Promise<RestartableRedis> {
  let child: ChildProcess | null = null;
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);
  const handle: RestartableRedis = {
    url: `redis://${HOST}:${port}`,
    get pid() {
      return child?.pid ?? null;
    },
    async start() {
      child = spawn(process.env.REDIS_SERVER_BIN ?? 'redis-server', [
        '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
        ...(options.args ?? []),
      ], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const probe = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        try {
          await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          await sleep(25);
        } finally {
          probe.disconnect();
        }
      }
      throw new Error(`redis-server did not start on port ${port}`);
    },
    async kill() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
    async stop() {
      await handle.kill();
      process.off('exit', killOnExit);
    },
  };
  await handle.start();
  return handle;
}
