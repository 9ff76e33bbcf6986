import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sha256Hex, signRequest, type SigV4Credentials } from '../../src/ledger/sigv4.ts';
import { freePort } from './free-port.ts';

/** SeaweedFS's `weed`, built by scripts/setup into .tools/bin (or $WEED_BIN). */
const WEED = process.env.WEED_BIN ?? resolve(import.meta.dirname, '../../.tools/bin/weed');
const HOST = '127.0.0.1';
const REGION = 'us-east-1';

export interface S3ServerHandle {
  endpoint: string;
  credentials: SigV4Credentials;
  /** A signed request with these credentials (or others, to see the server refuse them). */
  request(method: string, path: string, body?: Buffer, credentials?: SigV4Credentials): Promise<Response>;
  /** SIGSTOP / SIGCONT: connections are accepted by the kernel but nothing answers (an outage mid-upload). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A real S3-compatible server for tests: SeaweedFS (`weed server` with its S3 gateway) on free loopback ports, data in
 * a temporary directory, one identity whose access key and secret it checks (SigV4) on every request.
 */
export async function startS3Server(): Promise<S3ServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-s3-'));
  const credentials = { accessKeyId: 'tollgate-test-key', secretAccessKey: 'tollgate-test-secret-0123456789' };
  const config = join(dir, 's3.json');
  await writeFile(config, JSON.stringify({
    identities: [{ name: 'tollgate', credentials: [{ accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] }],
  }));
  const [master, volume, filer, s3] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // gRPC ports are the HTTP port + 10000 unless set: set them too, from free ports.
  const [masterGrpc, volumeGrpc, filerGrpc, s3Grpc] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(WEED, [
    'server', `-ip=${HOST}`, `-ip.bind=${HOST}`, `-dir=${dir}`,
    `-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, '-master.volumeSizeLimitMB=64',
    `-volume.port=${volume}`, `-volume.port.grpc=${volumeGrpc}`, '-volume.max=8',
    '-filer', `-filer.port=${filer}`, `-filer.port.grpc=${filerGrpc}`,
    '-s3', `-s3.port=${s3}`, `-s3.port.grpc=${s3Grpc}`, `-s3.config=${config}`,
    // Side services on fixed default ports would collide between parallel tests: off.
    '-s3.port.iceberg=0', '-s3.port.lance=0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-6000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const endpoint = `http://${HOST}:${s3}`;

  async function request(method: string, path: string, body = Buffer.alloc(0), creds = credentials): Promise<Response> {
    const url = new URL(path, endpoint);
    const headers = signRequest({ method, url, headers: body.length ? { 'content-length': String(body.length) } : {}, payloadSha256: sha256Hex(body) }, creds, REGION, new Date());
    return fetch(url, { method, headers, ...(body.length ? { body } : {}), signal: AbortSignal.timeout(5000) });
  }

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`weed exited (${child.exitCode}):\n${output}`);
    // Ready when the gateway answers a signed ListBuckets and the filer behind it can create a bucket.
    const reply = await request('PUT', '/tollgate-probe').catch(() => null);
    if (reply?.ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`SeaweedFS S3 did not become ready: ${reply?.status ?? 'no answer'}\n${output}`);
    }
    await sleep(250);
  }

  return {
    endpoint,
    credentials,
    request,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: async () => {
      process.off('exit', killOnExit);
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000).then(() => child.kill('SIGKILL'))]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
