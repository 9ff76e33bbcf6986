import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.ts';
import type { AuditRecord } from '../../../src/audit/audit-record.ts';

function record(i: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    decision_id: `d-${i}`,
    time: new Date(Date.UTC(2025, 0, 6, 3, 0, i)).toISOString(),
    request_id: `r-${i}`,
    revision: 'abc',
    input_digest: 'sha256:00',
    tenant: { org: 'acme', team: i % 2 ? 'hr' : 'finance', app: 'a', user: null, feature: null },
    model: 'gpt-4o',
    endpoint: 'chat',
    decision: i % 3 === 0 ? 'deny' : 'allow',
    reasons: [],
    result: null,
    error: null,
    pii: { total: 0, types: {} },
    eval_us: 12,
    ...overrides,
  };
}

describe('audit log', () => {
  async function logWith(count: number) {
    const path = join(await mkdtemp(join(tmpdir(), 'tollgate-audit-')), 'nested', 'decisions.jsonl');
    const log = new AuditLog(path, (error) => { throw error; });
    for (let i = 0; i < count; i += 1) log.append(record(i));
    return { log, path };
  }

  it('appends one JSON line per decision', async () => {
    const { log, path } = await logWith(3);
    await log.flush();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as AuditRecord).decision_id)).toEqual(['d-0', 'd-1', 'd-2']);
    await log.close();
  });

  it('filters by request id, decision, team and time', async () => {
    const { log } = await logWith(12);
    expect((await log.query({ request_id: 'r-4', limit: 10 })).data.map((r) => r.decision_id)).toEqual(['d-4']);
    expect((await log.query({ decision: 'deny', limit: 10 })).data.map((r) => r.decision_id)).toEqual(['d-0', 'd-3', 'd-6', 'd-9']);
    expect((await log.query({ team: 'hr', decision: 'deny', limit: 10 })).data.map((r) => r.decision_id)).toEqual(['d-3', 'd-9']);
    expect((await log.query({ since: '2025-01-06T03:00:10Z', limit: 10 })).data.map((r) => r.decision_id)).toEqual(['d-10', 'd-11']);
    await log.close();
  });

  it('pages with a cursor that stays valid while records are appended', async () => {
    const { log } = await logWith(5);
    const first = await log.query({ limit: 2 });
    expect(first.data.map((r) => r.decision_id)).toEqual(['d-0', 'd-1']);
    expect(first.has_more).toBe(true);
    log.append(record(5));
    const second = await log.query({ limit: 2, cursor: first.next_cursor ?? undefined });
    expect(second.data.map((r) => r.decision_id)).toEqual(['d-2', 'd-3']);
    const third = await log.query({ limit: 2, cursor: second.next_cursor ?? undefined });
    expect(third).toMatchObject({ has_more: false, next_cursor: null });
    expect(third.data.map((r) => r.decision_id)).toEqual(['d-4', 'd-5']);
    expect(await log.query({ limit: 2, cursor: '999999' })).toEqual({ data: [], has_more: false, next_cursor: null });
    await log.close();
  });

  it('skips a torn line (a crash mid-write) and reads the rest', async () => {
    const { log, path } = await logWith(1);
    await log.flush();
    await appendFile(path, '{"decision_id": "torn\n');
    log.append(record(1));
    expect((await log.query({ limit: 10 })).data.map((r) => r.decision_id)).toEqual(['d-0', 'd-1']);
    await log.close();
  });
});
