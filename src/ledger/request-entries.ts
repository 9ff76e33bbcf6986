import type { RequestContext } from '../pipeline/context.ts';
import type { RideAlong } from '../quota/engine.ts';
import type { LedgerQueue } from './queue.ts';
import { finalRecord, pendingRecord, type UsageRecord } from './usage-record.ts';

type EntryState = 'pending' | 'final';

const RECORD_OF: Record<EntryState, (ctx: RequestContext) => UsageRecord | null> = { pending: pendingRecord, final: finalRecord };

/**
 * The two queue entries of each request, pending at admission and final at the end, each written once. The ledger
 * stage writes them, unless the quota stage already sent one in the same Redis round trip as its own script
 * (reserve, settle; see RedisQuotaEngine): then the ledger stage only waits for that write, so the pending entry is
 * still durable before any provider is contacted. One per process, shared by both stages.
 */
export class RequestEntries {
  readonly #queue: LedgerQueue;
  /** Writes that rode along, resolved with their error (never rejected: nobody may be waiting for them). */
  readonly #sent = new WeakMap<RequestContext, Partial<Record<EntryState, Promise<Error | null>>>>();

  constructor(queue: LedgerQueue) {
    this.#queue = queue;
  }

  /**
   * The command that queues ctx's entry, to send with a quota call now; null when the queue is not Redis (or the
   * request has no record). A pending entry sent for a request that the quota then refuses is harmless: the final
   * entry replaces it in the ledger.
   */
  rideAlong(ctx: RequestContext, state: EntryState): RideAlong | null {
    if (!this.#queue.entryCommand) return null;
    const record = RECORD_OF[state](ctx);
    if (!record) return null;
    const command = this.#queue.entryCommand(record);
    let settle: (error: Error | null) => void = () => {};
    const written = new Promise<Error | null>((resolve) => {
      settle = resolve;
    });
    const sent = this.#sent.get(ctx) ?? {};
    sent[state] = written;
    this.#sent.set(ctx, sent);
    return {
      args: command.args,
      done(error) {
        if (error) command.failed();
        settle(error);
      },
    };
  }

  /** Queues ctx's entry, or waits for the one that rode along; rejects when it could not be queued. */
  async write(ctx: RequestContext, state: EntryState): Promise<void> {
    const sent = this.#sent.get(ctx)?.[state];
    if (sent) {
      const error = await sent;
      if (error) throw error;
      return;
    }
    const record = RECORD_OF[state](ctx);
    if (record) await this.#queue.enqueue(record);
  }
}
