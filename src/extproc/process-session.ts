import type { Logger } from 'pino';
import type { ContinueReply, ImmediateReply, PhaseEvent, StreamHandler } from '../pipeline/phases.ts';

/** One answer to Envoy, encoded by the transport (codec/encode-reply.ts, or messages.ts for grpc-js). */
export type SessionReply = ContinueReply | ImmediateReply;

/**
 * One ext_proc stream (one HTTP request, or one attempt for the upstream filter), whatever carries it: messages are
 * handled strictly in order (Envoy may pipeline streamed chunks), each answer is written back, and the handler learns
 * once how the stream ended — complete when the response was fully seen, otherwise cut (reset, cancel, timeout).
 */
export class ProcessSession {
  private pending: Promise<void> = Promise.resolve();
  private sawResponseEnd = false;
  private answeredImmediately = false;
  private closed = false;
  private readonly handler: StreamHandler;
  private readonly write: (reply: SessionReply) => void;
  private readonly fail: (error: Error) => void;
  private readonly logger: Logger;

  constructor(options: {
    handler: StreamHandler;
    write: (reply: SessionReply) => void;
    fail: (error: Error) => void;
    logger: Logger;
  }) {
    this.handler = options.handler;
    this.write = options.write;
    this.fail = options.fail;
    this.logger = options.logger;
  }

  /** The next message, decoded by the transport; null for what gets no answer (trailers, unknown kinds). */
  message(event: PhaseEvent | null): void {
    this.pending = this.pending.then(() => this.processOne(event)).catch((error: unknown) => {
      this.logger.error({ err: error }, 'ext_proc message failed');
      this.fail(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Envoy half-closed the stream: finish what is queued, then report. */
  end(onDone: () => void): void {
    void this.pending.then(() => {
      this.close(this.sawResponseEnd);
      onDone();
    });
  }

  /** The stream went away (cancel, reset, error, or closed after end). */
  abort(): void {
    void this.pending.then(() => this.close(this.sawResponseEnd));
  }

  private async processOne(event: PhaseEvent | null): Promise<void> {
    if (!event) return; // trailers are not requested (mode SKIP); ignore anything else
    if (this.answeredImmediately) return; // the request is over; Envoy may still have sent what it had queued
    const reply = await this.handler.handle(event);
    if ((event.phase === 'response_body' || event.phase === 'response_headers') && event.endOfStream) {
      this.sawResponseEnd = true;
    }
    if (reply.kind === 'deferred') return;
    for (const one of reply.kind === 'sequence' ? reply.replies : [reply]) {
      if (one.kind === 'immediate') {
        this.sawResponseEnd = true;
        this.answeredImmediately = true;
        // An immediate response, when headers are still awaited too, is the one answer Envoy needs.
        this.write(one);
        return;
      }
      this.write(one);
    }
  }

  private close(complete: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.handler.close(complete);
  }
}
