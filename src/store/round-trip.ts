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
  readonly #coalescer: Coalescer | null;
  #queued: Queued[] = [];
  /** Set for the end of a request: what is sent then may wait a few ms to share a write with other requests'. */
  offCriticalPath = false;

  constructor(client: RedisClient, coalescer: Coalescer | null = null) {
    this.#client = client;
    this.#coalescer = coalescer;
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
    if (this.offCriticalPath && this.#coalescer) return this.#coalescer.send(batch);
    return execute(this.#client, batch);
  }

  /** Commands queued and not sent yet. */
  get size(): number {
    return this.#queued.length;
  }
}

/**
 * Gathers the end-of-request commands of many requests (settlement, cache store, final ledger entry) for up to
 * `windowMs` into one pipeline: nobody waits for them, and at a few hundred requests per second one write then
 * carries several requests' commands, in Tollgate and in Redis. `flush` sends what waits at once (shutdown).
 */
export class Coalescer {
  readonly #client: RedisClient;
  readonly #windowMs: number;
  readonly #maxCommands: number;
  #waiting: Queued[] = [];
  #done: Array<() => void> = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(client: RedisClient, options: { windowMs: number; maxCommands: number }) {
    this.#client = client;
    this.#windowMs = options.windowMs;
    this.#maxCommands = options.maxCommands;
  }

  send(batch: Queued[]): Promise<void> {
    this.#waiting.push(...batch);
    const sent = new Promise<void>((resolve) => this.#done.push(resolve));
    if (this.#waiting.length >= this.#maxCommands) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#windowMs);
    }
    return sent;
  }

  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#waiting;
    const done = this.#done;
    this.#waiting = [];
    this.#done = [];
    if (batch.length) await execute(this.#client, batch);
    for (const resolve of done) resolve();
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
