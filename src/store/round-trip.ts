import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-store.ts';

export type StoreCommand = [name: string, ...args: Array<string | number>];

interface Queued {
  args: StoreCommand;
  resolve(reply: unknown): void;
  reject(error: Error): void;
}

/**
 * The Redis commands of one request phase, sent together: one write, one round trip, whichever stages they come
 * from. A stage that does not need the reply yet queues its command (`call`); the stage that needs a reply first
 * sends the lot (`send`). A cache lookup, the quota reservation and the ledger's pending entry thus cost one round
 * trip on the request path, and the cache store, the settlement and the final entry one more at the end.
 *
 * Why per request and not ioredis auto-pipelining: auto-pipelining flushes on the next tick, and the stages of one
 * request await in between, so their commands would still leave one by one (measured: a write syscall costs tens of
 * µs on a loopback socket here, in Tollgate and again in Redis).
 *
 * Redis Cluster cannot pipeline keys of different slots (the cache and the quota keys are), so there each command
 * leaves at once, as before.
 */
export class RoundTrip {
  readonly #client: RedisClient;
  #queued: Queued[] = [];

  constructor(client: RedisClient) {
    this.#client = client;
  }

  /**
   * Queues a command for the next `send` and resolves with its reply (rejects with its error). The caller must
   * handle the rejection: nobody else awaits it.
   */
  call(args: StoreCommand): Promise<unknown> {
    if (this.#client instanceof Cluster) return this.#client.call(...(args as [string, ...string[]]));
    return new Promise((resolve, reject) => this.#queued.push({ args, resolve, reject }));
  }

  /** Sends what is queued, in one pipeline; resolves once every reply is in (each call settles on its own). */
  async send(): Promise<void> {
    if (this.#queued.length === 0) return;
    const batch = this.#queued;
    this.#queued = [];
    return execute(this.#client, batch);
  }

  /** Commands queued and not sent yet. */
  get size(): number {
    return this.#queued.length;
  }
}

/** One pipeline for the batch; each command's promise settles with its own reply. */
async function execute(client: RedisClient, batch: Queued[]): Promise<void> {
  const pipeline = client.pipeline();
  for (const command of batch) pipeline.call(...(command.args as [string, ...string[]]));
  let results: Array<[Error | null, unknown]> | null;
  try {
    results = await pipeline.exec();
  } catch (error) {
    for (const command of batch) command.reject(error as Error);
    return;
  }
  batch.forEach((command, index) => {
    const [error, reply] = results?.[index] ?? [new Error('no reply in the pipeline'), null];
    if (error) command.reject(error);
    else command.resolve(reply);
  });
}
