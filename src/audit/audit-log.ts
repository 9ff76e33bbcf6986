import { createReadStream, createWriteStream, fstatSync, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { open, readdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditPage, AuditQuery, AuditRecord } from './audit-record.ts';
import { fileStamp, pruneClosedFiles, type RetentionSettings } from './retention.ts';

/** How long decided lines wait to be written together (a crash loses what the OS had not received anyway). */
const BATCH_MS = 20;
/** How often a writer checks whether its file is due for rotation by age, or was rotated by another process. */
const CHECK_MS = 60_000;

/** When the audit log is closed and a new one started, and how many closed ones are kept. */
export interface AuditRotation {
  /** Close the file once it holds this many bytes. */
  rotate_bytes: number;
  /** Close the file once it is this old (e.g. one file per day). */
  rotate_interval_seconds: number;
  retention: RetentionSettings;
}

interface OpenFile {
  stream: WriteStream;
  ino: number;
  bytes: number;
  openedAt: number;
}

/**
 * The append-only JSONL audit log of policy decisions: one line per decision, written off the request's critical
 * path and gathered for up to BATCH_MS into one file write (one write per request cost a thread-pool round trip
 * each at gateway rates), read back by the admin API.
 *
 * Rotation: at `rotate_bytes` or `rotate_interval_seconds` the file is renamed to `<name>.<UTC stamp>.jsonl` (name
 * order is time order) and a new one started; closed files beyond the retention settings are deleted. Several
 * processes may share one path: a writer whose file was renamed by another notices (inode check) and reopens, and
 * lines written in between land in the closed file, never lost. Queries read the closed files still kept, then the
 * current one.
 */
export class AuditLog {
  readonly path: string;
  private file: OpenFile;
  private lastWrite: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly checkTimer: NodeJS.Timeout | null = null;
  private readonly rotation: AuditRotation | null;
  private readonly onError: (error: Error) => void;
  private readonly now: () => number;
  private readonly stem: string;
  private readonly ext: string;

  constructor(path: string, onError: (error: Error) => void, rotation?: AuditRotation | null, now: () => number = Date.now) {
    this.path = path;
    this.onError = onError;
    this.rotation = rotation ?? null;
    this.now = now;
    this.ext = extname(path);
    this.stem = basename(path, this.ext);
    mkdirSync(dirname(path), { recursive: true });
    // Opened synchronously once at start; rotations reopen asynchronously.
    // 'a': every write goes to the end of the file, whatever else appends to it.
    const fd = openSync(path, 'a');
    const info = fstatSync(fd);
    this.file = this.wrap(createWriteStream(path, { fd }), info.ino, info.size, info.size > 0 && info.birthtimeMs > 0 ? info.birthtimeMs : now());
    if (this.rotation) {
      this.checkTimer = setInterval(() => {
        this.lastWrite = this.lastWrite.then(() => this.maybeRotate(true));
      }, Math.min(CHECK_MS, this.rotation.rotate_interval_seconds * 1000));
      this.checkTimer.unref();
    }
  }

  private wrap(stream: WriteStream, ino: number, bytes: number, openedAt: number): OpenFile {
    stream.on('error', (error) => {
      this.failed = error;
      this.onError(error);
    });
    return { stream, ino, bytes, openedAt };
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
    this.lastWrite = this.lastWrite.then(async () => {
      const file = this.file;
      await new Promise<void>((resolve) => file.stream.write(text, () => resolve()));
      file.bytes += Buffer.byteLength(text);
      await this.maybeRotate(false);
    });
  }

  /** The name a file closed at `ms` gets. */
  private closedName(ms: number): string {
    return `${this.stem}.${fileStamp(ms)}${this.ext}`;
  }

  private isClosedName = (name: string): boolean => {
    if (!name.startsWith(`${this.stem}.`) || !name.endsWith(this.ext)) return false;
    const middle = name.slice(this.stem.length + 1, name.length - this.ext.length);
    return /^\d{8}T\d{9}Z$/.test(middle);
  };

  /** Rotates when due; `checkInode` also reopens when another process renamed the file away. */
  private async maybeRotate(checkInode: boolean): Promise<void> {
    if (!this.rotation || this.failed) return;
    try {
      if (checkInode) {
        const current = await stat(this.path).catch(() => null);
        if (!current || current.ino !== this.file.ino) {
          await this.reopen();
          return;
        }
      }
      const { rotate_bytes, rotate_interval_seconds } = this.rotation;
      if (this.file.bytes === 0) return;
      if (this.file.bytes < rotate_bytes && this.now() - this.file.openedAt < rotate_interval_seconds * 1000) return;
      await rename(this.path, join(dirname(this.path), this.closedName(this.now()))).catch((error: NodeJS.ErrnoException) => {
        // Another writer of the same path rotated it a moment ago.
        if (error.code !== 'ENOENT') throw error;
      });
      await this.reopen();
      await pruneClosedFiles(dirname(this.path), this.isClosedName, this.rotation.retention, this.now());
    } catch (error) {
      this.onError(error as Error);
    }
  }

  private async reopen(): Promise<void> {
    const old = this.file.stream;
    const handle = await open(this.path, 'a');
    const info = await handle.stat();
    this.file = this.wrap(handle.createWriteStream() as unknown as WriteStream, info.ino, info.size, this.now());
    await new Promise<void>((resolve) => old.end(() => resolve()));
  }

  /** Every file a query reads, oldest first: the closed ones still kept, then the current one. */
  private async files(): Promise<Array<{ path: string; ino: number; size: number }>> {
    const dir = dirname(this.path);
    const names = (await readdir(dir).catch(() => [] as string[])).filter(this.isClosedName).sort();
    const files: Array<{ path: string; ino: number; size: number }> = [];
    for (const path of [...names.map((name) => join(dir, name)), this.path]) {
      const info = await stat(path).catch(() => null);
      if (info) files.push({ path, ino: info.ino, size: info.size });
    }
    return files;
  }

  /**
   * Records matching the filters, oldest first, one page at a time. The cursor names a file (its inode, stable across
   * the rename of a rotation) and the byte offset of the next line, so paging stays correct while records are
   * appended and files rotate. A cursor into a file retention has deleted continues with the oldest file kept.
   */
  async query(query: AuditQuery): Promise<AuditPage> {
    await this.flush();
    const files = await this.files();
    let first = 0;
    let startOffset = 0;
    if (query.cursor) {
      const match = /^(\d+):(\d+)$/.exec(query.cursor);
      if (match) {
        const index = files.findIndex((f) => String(f.ino) === match[1]);
        if (index !== -1) {
          first = index;
          startOffset = Number(match[2]);
        }
      } else {
        // A plain offset (before rotation existed): the current file.
        first = files.length - 1;
        startOffset = Number(query.cursor);
        if (!Number.isSafeInteger(startOffset) || startOffset < 0) return { data: [], has_more: false, next_cursor: null };
      }
    }
    const since = query.since ? Date.parse(query.since) : null;
    const data: AuditRecord[] = [];
    let nextCursor: string | null = null;
    for (let i = Math.max(0, first); i < files.length && nextCursor === null; i++) {
      const file = files[i];
      if (!file) continue;
      const start = i === first ? startOffset : 0;
      if (start >= file.size) continue;
      let offset = start;
      const lines = createInterface({ input: createReadStream(file.path, { start, end: file.size - 1 }), crlfDelay: Infinity });
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
          nextCursor = `${file.ino}:${lineStart}`;
          break;
        }
        data.push(record);
      }
      lines.close();
    }
    return { data, has_more: nextCursor !== null, next_cursor: nextCursor };
  }

  async close(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    await this.flush();
    const stream = this.file.stream;
    await new Promise<void>((resolve) => stream.end(() => resolve()));
  }
}

function matches(record: AuditRecord, query: AuditQuery, since: number | null): boolean {
  if (query.request_id && record.request_id !== query.request_id) return false;
  if (query.decision && record.decision !== query.decision) return false;
  if (query.team && record.tenant.team !== query.team) return false;
  if (since !== null && Date.parse(record.time) < since) return false;
  return true;
}
