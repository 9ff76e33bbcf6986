import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RedisClusterHandle {
  nodes: Array<{ host: string; port: number }>;
  /** A new ioredis Cluster client (the caller closes it). */
  client(): Cluster;
  stop(): Promise<void>;
}

async function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A port whose cluster-bus twin (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) {
      taken.add(port).add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A real Redis Cluster of `masters` masters and no replicas on loopback: `redis-server --cluster-enabled yes` per
 * node, joined by `redis-cli --cluster create`. Killed at process exit if stop() is never called.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-redis-cluster-'));
  const taken = new Set<number>();
  const children: ChildProcess[] = [];
  const killAll = () => children.forEach((child) => child.kill('SIGKILL'));
  process.on('exit', killAll);
  const nodes: Array<{ host: string; port: number }> = [];
  try {
    for (let i = 0; i < masters; i += 1) {
      const port = await clusterPort(taken);
      const child = spawn(process.env.REDIS_SERVER_BIN ?? 'redis-server', [
        '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
      ], { stdio: 'ignore' });
      children.push(child);
      nodes.push({ host: HOST, port });
    }
    for (const node of nodes) {
      await waitFor(async () => {
        const probe = new Redis({ ...node, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      }, `redis-server on ${node.port}`);
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const node of nodes) {
      await waitFor(async () => {
        const probe = new Redis({ ...node, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        try {
          return (await probe.cluster('INFO')).includes('cluster_state:ok');
        } finally {
          probe.disconnect();
        }
      }, `cluster_state:ok on ${node.port}`);
    }
  } catch (error) {
    killAll();
    process.off('exit', killAll);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    client: () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } }),
    async stop() {
      await Promise.all(children.map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      })));
      process.off('exit', killAll);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
