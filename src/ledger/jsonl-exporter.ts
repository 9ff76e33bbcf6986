import { appendFile, mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import { pruneClosedFiles, type RetentionSettings } from '../audit/retention.ts';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { formatUsd, type UsageRecord } from './usage-record.ts';

export interface JsonlExporterOptions {
  dir: string;
  /** A file is closed (renamed to .jsonl) once it reaches this size. */
  rotateBytes: number;
  /** A file is also closed once it is this old (default: only by size). */
  rotateIntervalMs?: number;
  /** Closed files beyond these are deleted after each rotation. */
  retention?: RetentionSettings;
  /**
   * Which closed files retention may delete (default every closed .jsonl). With an uploader only the uploaded ones,
   * so a file the store has not taken yet is never pruned.
   */
  prunable?: (name: string) => boolean;
  /** Called after a file was closed (the uploader takes it at once instead of at its next scan). */
  onClosed?: () => void;
  now?: () => number;
}

const OPEN_SUFFIX = '.jsonl.open';

/** One record as one JSON line, fields named as in proto/usage_record.proto (int64 as strings, per proto3 JSON). */
export function toExportLine(record: UsageRecord): string {
  return JSON.stringify({
    request_id: record.requestId,
    state: record.state,
    started_at: new Date(record.startedAt).toISOString(),
    ended_at: record.endedAt === null ? null : new Date(record.endedAt).toISOString(),
    org: record.org,
    team: record.team,
    app: record.app,
    user: record.user,
    feature: record.feature,
    key_id: record.keyId,
    endpoint: record.endpoint,
    model: record.model,
    variant: record.variant,
    trace_id: record.traceId,
    provider: record.provider,
    upstream_model: record.upstreamModel,
    attempts: record.attempts,
    stream: record.stream,
    prompt_tokens: record.promptTokens,
    completion_tokens: record.completionTokens,
    cached_prompt_tokens: record.cachedPromptTokens,
    cache_write_tokens: record.cacheWriteTokens,
    reasoning_tokens: record.reasoningTokens,
    cost_nano_usd: record.costNanoUsd === null ? null : record.costNanoUsd.toString(),
    cost_usd: record.costNanoUsd === null ? null : formatUsd(record.costNanoUsd),
    ...(record.savedNanoUsd !== undefined ? { saved_nano_usd: record.savedNanoUsd.toString() } : {}),
    pricing_id: record.pricingId,
    latency_ms: record.latencyMs,
    status: record.status,
    outcome: record.outcome,
    error_code: record.errorCode,
    cache_status: record.cacheStatus,
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Appends every record the ledger closed or finalised to JSONL files for a load job (S3 → BigQuery, Athena…).
 * The file being written ends in `.jsonl.open`; at `rotateBytes` it is renamed to `.jsonl`, the only files a load
 * job should take. Each process writes its own files (host and pid in the name), so writers never interleave.
 * A request may appear twice (orphaned, then final when its late entry arrived): keep the highest `state`
 * (final > orphaned) per request_id when loading.
 */
export class JsonlExporter {
  readonly #options: JsonlExporterOptions;
  readonly #tag = `${hostname()}-${process.pid}`;
  #current: { path: string; bytes: number; openedAt: number } | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Appends run one after another: the batch writer and the reconciler both export. */
  #tail: Promise<void> = Promise.resolve();

  constructor(options: JsonlExporterOptions) {
    this.#options = options;
    const interval = options.rotateIntervalMs;
    if (interval) {
      // Closes a file that is old enough even when no record arrives to trigger it.
      this.#timer = setInterval(() => {
        const current = this.#current;
        if (current && this.#now() - current.openedAt >= interval) void this.rotate();
      }, Math.min(interval, 60_000));
      this.#timer.unref();
    }
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** Stops the age check (the files stay as they are; call rotate() first to close the current one). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Closes files left open by processes of this host that are gone (a crash), cutting a torn last line. */
  async recover(): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true });
    const host = hostname();
    for (const file of await readdir(this.#options.dir)) {
      const match = /^usage-[^-]+-(.+)-(\d+)\.jsonl\.open$/.exec(file);
      if (!match || match[1] !== host) continue;
      const pid = Number(match[2]);
      if (pid !== process.pid && isAlive(pid)) continue;
      await this.#seal(join(this.#options.dir, file), true);
    }
  }

  append(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return this.#tail;
    const text = records.map((record) => `${toExportLine(record)}\n`).join('');
    this.#tail = this.#tail.then(() => this.#write(text));
    return this.#tail;
  }

  /** Closes the current file, so everything exported so far is loadable. */
  rotate(): Promise<void> {
    this.#tail = this.#tail.then(() => this.#rotateNow());
    return this.#tail;
  }

  async #write(text: string): Promise<void> {
    if (!this.#current) {
      const openedAt = this.#now();
      const stamp = new Date(openedAt).toISOString().replace(/[-:.]/g, '');
      await mkdir(this.#options.dir, { recursive: true });
      this.#current = { path: join(this.#options.dir, `usage-${stamp}-${this.#tag}${OPEN_SUFFIX}`), bytes: 0, openedAt };
    }
    await appendFile(this.#current.path, text);
    this.#current.bytes += Buffer.byteLength(text);
    const tooOld = this.#options.rotateIntervalMs !== undefined && this.#now() - this.#current.openedAt >= this.#options.rotateIntervalMs;
    if (this.#current.bytes >= this.#options.rotateBytes || tooOld) await this.#rotateNow();
  }

  async #rotateNow(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    if (current) await this.#seal(current.path, false);
    if (current) this.#options.onClosed?.();
    if (this.#options.retention) {
      // Only closed files (.jsonl, every writer's): a load job may not have taken the oldest yet, so keep the
      // retention above its schedule.
      await pruneClosedFiles(this.#options.dir, this.#options.prunable ?? ((name) => /^usage-.*\.jsonl$/.test(name)), this.#options.retention, this.#now());
    }
  }

  async #seal(path: string, mayBeTorn: boolean): Promise<void> {
    if (mayBeTorn) {
      // A process killed mid-append may leave half a line: keep whole lines only.
      const handle = await open(path, 'r+');
      try {
        const { size } = await handle.stat();
        const tail = Buffer.alloc(Math.min(size, 1 << 20));
        await handle.read(tail, 0, tail.length, size - tail.length);
        const lastNewline = tail.lastIndexOf(0x0a);
        await handle.truncate(lastNewline === -1 ? Math.max(0, size - tail.length) : size - tail.length + lastNewline + 1);
      } finally {
        await handle.close();
      }
    }
    if ((await stat(path)).size === 0) return;
    await rename(path, path.slice(0, -OPEN_SUFFIX.length) + '.jsonl');
  }
}
