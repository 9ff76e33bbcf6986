import type { Logger } from 'pino';
import type { LedgerSink } from './sink.ts';
import type { UsageRecord } from './usage-record.ts';

export interface ReconcilerOptions {
  sink: LedgerSink;
  /** A pending record older than this has no final entry coming: its process crashed or the entry was lost. */
  orphanTimeoutMs: number;
  intervalMs: number;
  now: () => number;
  onClosed?: (records: UsageRecord[]) => Promise<void> | void;
  logger: Logger;
}

/**
 * Closes orphans, so no record stays open: pending rows whose request started more than the orphan timeout ago
 * become `orphaned` (an entry that still arrives later replaces it, final outranks orphaned). Every process runs
 * one; the UPDATE is atomic per row, so two reconcilers never close the same row twice.
 * The timeout must exceed the longest request (upstream timeout + longest stream), or a slow stream is closed early.
 */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      if (this.#running) return;
      this.#running = this.runOnce()
        .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'usage reconciler failed'))
        .finally(() => (this.#running = null));
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  async runOnce(): Promise<UsageRecord[]> {
    const now = this.#options.now();
    const closed = await this.#options.sink.closeOrphans(now - this.#options.orphanTimeoutMs, now);
    if (closed.length) {
      this.#options.logger.warn({ count: closed.length }, 'usage records closed as orphaned (no final entry in time)');
      await this.#options.onClosed?.(closed);
    }
    return closed;
  }
}
