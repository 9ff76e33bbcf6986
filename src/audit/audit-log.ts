import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditPage, AuditQuery, AuditRecord } from './audit-record.ts';

/** How long decided lines wait to be written together (a crash loses what the OS had not received anyway). */
const BATCH_MS = 20;

/**
 * The append-only JSONL audit log of policy decisions: one line per decision, written off the request's critical
 * path and gathered for up to BATCH_MS into one file write (one write per request cost a thread-pool round trip
 * each at gateway rates), read back by the admin API.
 */
export class AuditLog {
  readonly path: string;
  private readonly stream: WriteStream;
  private lastWrite: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(path: string, onError: (error: Error) => void) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    // 'a': every write goes to the end of the file, whatever else appends to it.
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (error) => {
      this.failed = error;
      onError(error);
    });
  }

  append(record: AuditRecord): void {
    if (this.failed) return;
    this.pending.push(`${JSON.stringify(record)}\n`);
    if (!this.timer) {
      this.timer = setTimeout(() => this.writePending(), BATCH_MS);
      this.timer.unref();
    }
  }

  /** Resolves once every record appended so far is in the file. */
  flush(): Promise<void> {
    this.writePending();
    return this.lastWrite;
  }

  private writePending(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.lastWrite = new Promise((resolve) => this.stream.write(text, () => resolve()));
  }

  /**
   * Records matching the filters, oldest first, one page at a time. The cursor is the byte offset of the next line,
   * so paging stays correct while records are appended.
   */
  async query(query: AuditQuery): Promise<AuditPage> {
    await this.flush();
    const start = query.cursor ? Number(query.cursor) : 0;
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (!Number.isSafeInteger(start) || start < 0 || start >= size) return { data: [], has_more: false, next_cursor: null };
    const since = query.since ? Date.parse(query.since) : null;
    const data: AuditRecord[] = [];
    let offset = start;
    let nextCursor: string | null = null;
    const lines = createInterface({ input: createReadStream(this.path, { start, end: size - 1 }), crlfDelay: Infinity });
    for await (const line of lines) {
      const lineStart = offset;
      offset += Buffer.byteLength(line) + 1;
      if (!line) continue;
      let record: AuditRecord;
      try {
        record = JSON.parse(line) as AuditRecord;
      } catch {
        continue; // a torn last line after a crash: skip it, keep the rest readable
      }
      if (!matches(record, query, since)) continue;
      if (data.length === query.limit) {
        nextCursor = String(lineStart);
        break;
      }
      data.push(record);
    }
    lines.close();
    return { data, has_more: nextCursor !== null, next_cursor: nextCursor };
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
  }
}

function matches(record: AuditRecord, query: AuditQuery, since: number | null): boolean {
  if (query.request_id && record.request_id !== query.request_id) return false;
  if (query.decision && record.decision !== query.decision) return false;
  if (query.team && record.tenant.team !== query.team) return false;
  if (since !== null && Date.parse(record.time) < since) return false;
  return true;
}
