import type { Logger } from 'pino';
import type { LedgerQueue, QueuedEntry } from './queue.ts';
import type { LedgerSink } from './sink.ts';
import type { UsageRecord } from './usage-record.ts';

export interface BatchWriterOptions {
  queue: LedgerQueue;
  sink: LedgerSink;
  /** Most entries per database transaction. */
  batchSize: number;
  /** Longest an entry waits in a partly filled batch. */
  flushIntervalMs: number;
  /** Told about the records whose row changed, after each commit (the JSONL exporter). */
  onCommitted?: (records: UsageRecord[]) => Promise<void> | void;
  logger: Logger;
}

const MAX_BACKOFF_MS = 5000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves entries from the queue to the sink in batches, off the request path: read until the batch is full or the
 * flush interval has passed, commit it in one transaction, then ack. A failed commit keeps the batch and retries
 * with backoff (the entries stay unacked in the queue meanwhile, so a crash loses nothing either).
 */
export class BatchWriter {
  readonly #options: BatchWriterOptions;
  #running = false;
  #loop: Promise<void> | null = null;
  #batch: QueuedEntry[] = [];
  #batchStartedAt = 0;
  #failures = 0;

  constructor(options: BatchWriterOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /**
   * Stops reading, then drains what is already queued (the in-process queue loses nothing at a clean shutdown) and
   * commits it. Best effort: with Redis, whatever stays unacked is redelivered to another process later.
   */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    try {
      for (let round = 0; round < 20; round += 1) {
        const entries = await this.#options.queue.read(this.#options.batchSize, 1);
        this.#batch.push(...entries);
        if (this.#batch.length) await this.#flush();
        if (entries.length === 0) break;
      }
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'usage ledger: entries left in the queue at shutdown');
    }
  }

  async #run(): Promise<void> {
    const { queue, batchSize, flushIntervalMs, logger } = this.#options;
    while (this.#running) {
      try {
        const waitMs = this.#batch.length ? Math.max(1, this.#batchStartedAt + flushIntervalMs - Date.now()) : flushIntervalMs;
        const entries = await queue.read(batchSize - this.#batch.length, waitMs);
        if (entries.length && this.#batch.length === 0) this.#batchStartedAt = Date.now();
        this.#batch.push(...entries);
        const due = this.#batch.length >= batchSize || (this.#batch.length > 0 && Date.now() - this.#batchStartedAt >= flushIntervalMs);
        if (due) await this.#flush();
        // A partly filled batch waits out its interval instead of reading again at once: a blocking read returns as
        // soon as one entry arrives, so under load it would cost a read (and a Redis round trip) per request.
        else if (entries.length) await sleep(Math.max(0, this.#batchStartedAt + flushIntervalMs - Date.now()));
        this.#failures = 0;
      } catch (error) {
        this.#failures += 1;
        const backoff = Math.min(100 * 2 ** Math.min(this.#failures, 6), MAX_BACKOFF_MS);
        if (this.#failures === 1 || this.#failures % 20 === 0) {
          logger.warn({ err: error, batch: this.#batch.length, retry_in_ms: backoff }, 'usage ledger write failed; retrying');
        }
        await sleep(backoff);
      }
    }
  }

  async #flush(): Promise<void> {
    const batch = this.#batch;
    const changed = await this.#options.sink.write(batch.map((entry) => entry.record));
    // Committed: from here on a crash only means a harmless redelivery.
    this.#batch = [];
    await this.#options.queue.ack(batch.map((entry) => entry.id));
    if (changed.length && this.#options.onCommitted) {
      await Promise.resolve(this.#options.onCommitted(changed)).catch((error: unknown) =>
        this.#options.logger.warn({ err: error }, 'usage export failed'));
    }
  }
}
