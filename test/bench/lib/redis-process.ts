import { freePort } from '../../helpers/free-port.ts';
import { startWatched, type WatchedProcess } from './processes.ts';

/**
 * A real redis-server for a benchmark (no persistence, loopback only), under the watchdog like every benchmark
 * process. `redis-server` from PATH, or $REDIS_SERVER_BIN (as test/helpers/redis-server.ts).
 */
export async function startRedisProcess(): Promise<WatchedProcess & { url: string }> {
  const port = await freePort();
  const started = await startWatched({
    command: process.env.REDIS_SERVER_BIN ?? 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    readyLine: /Ready to accept connections/,
  });
  return Object.assign(started, { url: `redis://127.0.0.1:${port}` });
}
