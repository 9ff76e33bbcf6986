import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerConfig } from '../../src/ledger/config.ts';
import { startLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { usageRecord } from '../unit/ledger/records.ts';
import { startS3Server, type S3ServerHandle } from '../helpers/s3-server.ts';

const BUCKET = 'usage-exports';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * The ledger's rotated JSONL exports uploaded to a real S3-compatible server (SeaweedFS, signatures checked), through
 * startLedger as Tollgate wires it: files leave the directory only once stored, and an outage in the middle of an
 * upload loses nothing.
 */
describe('usage export to S3-compatible storage (SeaweedFS)', () => {
  let s3: S3ServerHandle;
  let dir: string;
  let ledger: Ledger | null = null;

  beforeAll(async () => {
    s3 = await startS3Server();
    dir = await mkdtemp(join(tmpdir(), 'tollgate-s3-export-'));
    expect((await s3.request('PUT', `/${BUCKET}`)).ok).toBe(true);
  }, 90_000);

  afterAll(async () => {
    await ledger?.stop();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const listKeys = async () => {
    const text = await (await s3.request('GET', `/${BUCKET}?list-type=2&prefix=tollgate/usage/`)).text();
    return [...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string);
  };
  const exportFiles = async () => (await readdir(join(dir, 'export'))).filter((f) => f.endsWith('.jsonl')).sort();

  it('the server checks signatures: a wrong secret is refused', async () => {
    const reply = await s3.request('GET', `/${BUCKET}?list-type=2`, undefined, { ...s3.credentials, secretAccessKey: 'wrong-secret' });
    expect(reply.status).toBe(403);
  });

  it('uploads each closed file under a date partition, removes it only after the store took it, and survives an outage mid-upload', async () => {
    const config: LedgerConfig = {
      sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') },
      stream: { key: 'unused', group: 'unused', claim_idle_ms: 30_000 },
      batch_size: 100, flush_interval_ms: 20, orphan_timeout_ms: 600_000, reconcile_interval_ms: 600_000,
      export: {
        dir: join(dir, 'export'), rotate_bytes: 1, rotate_interval_seconds: 3600, retention: {},
        s3: {
          bucket: BUCKET, prefix: 'tollgate/usage/', region: 'us-east-1', endpoint: s3.endpoint, access_key_id_env: 'TEST_S3_KEY',
          secret_access_key_env: 'TEST_S3_SECRET', after_upload: 'delete', interval_seconds: 1, retry_base_ms: 200, retry_max_ms: 800, request_timeout_ms: 1000,
        },
      },
    };
    const env = { TEST_S3_KEY: s3.credentials.accessKeyId, TEST_S3_SECRET: s3.credentials.secretAccessKey };
    const logLines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
    const started = await startLedger({ config, store: new MemoryStore(), env, logger, now: Date.now });
    if (!started) throw new Error('no ledger');
    ledger = started;

    // rotate_bytes 1: every committed batch closes its file, and the uploader takes it at once.
    const first = usageRecord({ requestId: 'req-s3-1', startedAt: Date.UTC(2026, 11, 7, 10) });
    await started.queue.enqueue(first);
    const [key] = await until('the first upload', async () => {
      const keys = await listKeys();
      return keys.length === 1 ? keys : null;
    });
    expect(key).toMatch(/^tollgate\/usage\/dt=\d{4}-\d{2}-\d{2}\/usage-\d{8}T\d+Z-.+\.jsonl$/);
    const object = await (await s3.request('GET', `/${BUCKET}/${key}`)).text();
    expect(JSON.parse(object.trim())).toMatchObject({ request_id: 'req-s3-1', state: 'final', cost_nano_usd: String(first.costNanoUsd) });
    expect(await until('the uploaded file to leave the directory', async () => (await exportFiles()).length === 0)).toBe(true);

    // Outage in the middle of an upload: the server accepts the connection and never answers (SIGSTOP).
    s3.pause();
    try {
      await started.queue.enqueue(usageRecord({ requestId: 'req-s3-2' }));
      await until('the second file to be closed', async () => (await exportFiles()).length === 1);
      // Several timed-out attempts (1 s each, backoff 200–800 ms): the file stays every time.
      await sleep(3500);
      expect(await exportFiles()).toHaveLength(1);
      // It did try (and time out) meanwhile, and says so without the credentials.
      const failures = logLines.filter((line) => line.includes('upload failed'));
      expect(failures.length).toBeGreaterThanOrEqual(2);
      expect(logLines.join('')).not.toContain(s3.credentials.secretAccessKey);
    } finally {
      s3.resume();
    }
    await until('the retried upload', async () => (await listKeys()).length === 2);
    await until('the retried file to leave the directory', async () => (await exportFiles()).length === 0);
    const keys = await listKeys();
    const bodies = await Promise.all(keys.map(async (k) => (await s3.request('GET', `/${BUCKET}/${k}`)).text()));
    expect(bodies.map((b) => (JSON.parse(b.trim()) as { request_id: string }).request_id).sort()).toEqual(['req-s3-1', 'req-s3-2']);
  }, 90_000);
});
