import { mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditRotation } from '../../src/audit/audit-log.ts';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { pruneClosedFiles } from '../../src/audit/retention.ts';
import { JsonlExporter } from '../../src/ledger/jsonl-exporter.ts';
import { usageRecord } from './ledger/records.ts';

/** Audit log and usage export rotation with retention settings. */
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-rotation-'));
  dirs.push(dir);
  return dir;
}

function record(i: number): AuditRecord {
  return {
    decision_id: `d-${i}`, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), request_id: `r-${i}`,
    revision: 'rev', input_digest: 'sha256:00',
    tenant: { org: 'acme', team: 'platform', app: 'a', user: null, feature: null },
    model: 'gpt-4o', endpoint: 'chat', decision: 'allow', reasons: [], result: null, error: null,
    pii: { total: 0, types: {} }, eval_us: 10,
  };
}

const rotation = (overrides: Partial<AuditRotation> = {}): AuditRotation => ({
  rotate_bytes: 1024, rotate_interval_seconds: 86_400, retention: {}, ...overrides,
});

describe('audit log rotation', () => {
  it('closes the file at rotate_bytes into stamped files, and queries page across them in order', async () => {
    const dir = await tempDir();
    let now = Date.UTC(2026, 0, 1);
    const log = new AuditLog(join(dir, 'decisions.jsonl'), (error) => { throw error; }, rotation(), () => now);
    for (let i = 0; i < 30; i++) {
      log.append(record(i));
      await log.flush();
      now += 1000;
    }
    const files = (await readdir(dir)).sort();
    const closed = files.filter((f) => /^decisions\.\d{8}T\d{9}Z\.jsonl$/.test(f));
    expect(closed.length).toBeGreaterThanOrEqual(3);
    expect(files).toContain('decisions.jsonl');
    // Every record exactly once, in order, across closed files and the current one, page by page.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await log.query({ limit: 7, cursor });
      seen.push(...page.data.map((r) => r.decision_id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `d-${i}`));
    await log.close();
  });

  it('deletes closed files beyond max_files, oldest first, and never the current one', async () => {
    const dir = await tempDir();
    let now = Date.UTC(2026, 0, 1);
    const log = new AuditLog(join(dir, 'decisions.jsonl'), (error) => { throw error; }, rotation({ retention: { max_files: 2 } }), () => now);
    for (let i = 0; i < 60; i++) {
      log.append(record(i));
      await log.flush();
      now += 1000;
    }
    const closed = (await readdir(dir)).filter((f) => f !== 'decisions.jsonl').sort();
    expect(closed).toHaveLength(2);
    const page = await log.query({ limit: 100 });
    // The oldest decisions went with the deleted files; the newest are all still there.
    expect(page.data.at(-1)?.decision_id).toBe('d-59');
    expect(page.data[0]?.decision_id).not.toBe('d-0');
    await log.close();
  });

  it('rotates by age, and a second writer of the same path reopens after another rotated it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'decisions.jsonl');
    let now = Date.UTC(2026, 0, 1);
    const log = new AuditLog(path, (error) => { throw error; }, rotation({ rotate_bytes: 1 << 30, rotate_interval_seconds: 60 }), () => now);
    log.append(record(0));
    await log.flush();
    now += 61_000;
    log.append(record(1));
    await log.flush();
    expect((await readdir(dir)).filter((f) => f !== 'decisions.jsonl')).toHaveLength(1);
    // Someone else rotates the file away: the inode check (run by the writer's timer) reopens the path.
    await rename(path, join(dir, 'decisions.20260101T000000000Z.jsonl'));
    await (log as unknown as { maybeRotate(check: boolean): Promise<void> }).maybeRotate(true);
    log.append(record(2));
    await log.flush();
    expect(await readFile(path, 'utf8')).toContain('"d-2"');
    await log.close();
  });
});

describe('retention of closed files', () => {
  it('deletes by age using the modification time', async () => {
    const dir = await tempDir();
    const old = join(dir, 'a.20250101T000000000Z.jsonl');
    await writeFile(old, 'x\n');
    await writeFile(join(dir, 'a.20260101T000000000Z.jsonl'), 'y\n');
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    await utimes(old, tenDaysAgo, tenDaysAgo);
    const deleted = await pruneClosedFiles(dir, (n) => n.startsWith('a.'), { max_age_days: 7 }, Date.now());
    expect(deleted).toEqual(['a.20250101T000000000Z.jsonl']);
  });
});

describe('usage export rotation', () => {
  it('closes a file by age even without new records, and keeps max_files closed files', async () => {
    const dir = await tempDir();
    let now = Date.UTC(2026, 0, 1);
    const exporter = new JsonlExporter({ dir, rotateBytes: 1 << 30, rotateIntervalMs: 3_600_000, retention: { max_files: 2 }, now: () => now });
    for (let hour = 0; hour < 4; hour++) {
      await exporter.append([usageRecord()]);
      now += 3_600_000;
      // The next append finds the file an hour old and closes it.
    }
    await exporter.append([usageRecord()]);
    const files = (await readdir(dir)).sort();
    expect(files.filter((f) => f.endsWith('.jsonl'))).toHaveLength(2);
    expect(files.filter((f) => f.endsWith('.jsonl.open'))).toHaveLength(1);
    exporter.stop();
  });
});
