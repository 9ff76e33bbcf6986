import type { Logger } from 'pino';
import { appendSpan, encodeRequest, Out, type BatchPrefix, type SpanData } from './encode.ts';
import type { OtlpTransport } from './exporter.ts';

export interface BatcherOptions {
  maxQueueSize: number;
  maxBatchSize: number;
  delayMs: number;
}

/**
 * Ended spans are encoded into the pending batch's buffer and wait until the batch is full or the delay passed,
 * then leave in one export, one export at a time. Bounded: while max_queue_size spans wait (the collector is slow
 * or down), new spans are dropped and counted, so tracing never holds memory without bound nor makes a request wait.
 */
export class SpanBatcher {
  /** The batch being filled, and the full ones waiting behind an export in flight. */
  private pending = new Out(64 * 1024);
  private pendingCount = 0;
  private full: Array<{ spans: Buffer; count: number }> = [];
  private waiting = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastWarning = 0;
  /** Spans dropped because the queue was full or their export failed. */
  dropped = 0;
  private readonly options: BatcherOptions;
  private readonly transport: OtlpTransport;
  private readonly prefix: BatchPrefix;
  private readonly logger: Logger;

  constructor(options: BatcherOptions, transport: OtlpTransport, prefix: BatchPrefix, logger: Logger) {
    this.options = options;
    this.transport = transport;
    this.prefix = prefix;
    this.logger = logger;
  }

  add(span: SpanData): void {
    if (this.waiting >= this.options.maxQueueSize) {
      this.dropped += 1;
      return;
    }
    appendSpan(this.pending, span);
    this.pendingCount += 1;
    this.waiting += 1;
    if (this.pendingCount >= this.options.maxBatchSize) {
      this.seal();
      this.kick();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.options.delayMs);
      this.timer.unref();
    }
  }

  /** Exports everything queued now; resolves when it left (or failed). */
  async flush(): Promise<void> {
    this.seal();
    while (this.full.length || this.inFlight) {
      if (this.inFlight) await this.inFlight;
      else this.kick();
    }
  }

  /** The batch being filled joins the full ones. */
  private seal(): void {
    if (!this.pendingCount) return;
    this.full.push({ spans: this.pending.buffer.subarray(0, this.pending.at), count: this.pendingCount });
    this.pending = new Out(Math.max(1024, Math.min(this.pending.buffer.length, 1 << 20)));
    this.pendingCount = 0;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    this.transport.close();
  }

  private kick(): void {
    if (this.inFlight) return;
    if (!this.full.length) this.seal();
    const batch = this.full.shift();
    if (!batch) return;
    this.inFlight = this.transport.send(encodeRequest(this.prefix, batch.spans)).catch((error: unknown) => {
      this.dropped += batch.count;
      // One warning per 10 s says enough about a collector that is down.
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn({ err: error, dropped_spans: this.dropped }, 'span export failed; spans dropped');
      }
    }).finally(() => {
      this.inFlight = null;
      this.waiting -= batch.count;
      // More may have queued meanwhile: a full batch leaves at once, the rest with the timer.
      if (this.full.length) this.kick();
      else if (this.pendingCount && !this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, this.options.delayMs);
        this.timer.unref();
      }
    });
  }
}
