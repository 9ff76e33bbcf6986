import type { UsageRecord } from './usage-record.ts';

export interface QueuedEntry {
  /** The queue's id of the entry, handed back to ack(). */
  id: string;
  record: UsageRecord;
}

/**
 * Between the request path and the sink. `enqueue` is what the ledger stage awaits; the batch writer is the only
 * reader: it reads, commits to the sink, and only then acks, so an entry is never lost between the two.
 */
export interface LedgerQueue {
  readonly kind: 'redis-stream' | 'memory';
  /** Resolves once the entry is as durable as this queue makes it (Redis: in the stream; memory: in a buffer). */
  enqueue(record: UsageRecord): Promise<void>;
  /**
   * Redis queues only: the command that enqueues `record`, for a caller that sends it in one round trip with its
   * own commands; `failed` must be called when it did not go through (see RequestEntries).
   */
  entryCommand?(record: UsageRecord): { args: [string, ...string[]]; failed(): void };
  /** Up to `max` entries, waiting at most `waitMs` when there are none. */
  read(max: number, waitMs: number): Promise<QueuedEntry[]>;
  /** The entries are committed in the sink: the queue may forget them. */
  ack(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded default (memory store, one process): a buffer in this process. Not durable: a crash loses what is
 * buffered and not yet committed (at most one flush interval of records, plus the pending entries of requests in
 * flight). Use the Redis store for a ledger that survives a crash.
 */
export class MemoryLedgerQueue implements LedgerQueue {
  readonly kind = 'memory' as const;
  readonly #buffer: UsageRecord[] = [];
  #wake: (() => void) | null = null;
  #nextId = 1;

  async enqueue(record: UsageRecord): Promise<void> {
    this.#buffer.push(record);
    this.#wake?.();
  }

  async read(max: number, waitMs: number): Promise<QueuedEntry[]> {
    if (this.#buffer.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = null;
    }
    return this.#buffer.splice(0, max).map((record) => ({ id: String(this.#nextId++), record }));
  }

  /** Read entries already left the buffer; the batch writer keeps a failed batch until it commits. */
  async ack(): Promise<void> {}

  async close(): Promise<void> {
    this.#wake?.();
  }

  get size(): number {
    return this.#buffer.length;
  }
}
