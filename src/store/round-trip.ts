import { Cluster, Redis } from 'ioredis';
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
  readonly #batcher: EndPhaseBatcher | null;
  #queued: Queued[] = [];
  #endPhase = false;

  constructor(client: RedisClient, batcher: EndPhaseBatcher | null = null) {
    this.#client = client;
    this.#batcher = batcher;
  }

  /**
   * The request's answer is out: what its stages send from now on (settlement, cache store, final ledger entry)
   * waits for nobody, so it joins other requests' end phases in the shared batch instead of a write of its own.
   */
  enterEndPhase(): void {
    this.#endPhase = true;
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
    if (this.#endPhase && this.#batcher) return this.#batcher.add(batch);
    return execute(this.#client, batch);
  }

  /** Commands queued and not sent yet. */
  get size(): number {
    return this.#queued.length;
  }
}

/**
 * One pipeline for the batch; each command's promise settles with its own reply. With the store's auto-pipelining
 * client the commands join the pipeline ioredis sends at the end of this event-loop turn (setImmediate), so the
 * batches of every request handled in the same turn leave in one socket write, not one each: at saturation several
 * requests' reads arrive per turn (a loopback write costs tens of µs here, in Tollgate and again in Redis).
 */
async function execute(client: RedisClient, batch: Queued[]): Promise<void> {
  if (client instanceof Redis && client.options.enableAutoPipelining) {
    await Promise.all(batch.map((command) => client.call(...(command.args as [string, ...string[]])).then(command.resolve, command.reject)));
    return;
  }
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

/**
 * The end phases of many requests in one pipeline. A request's end phase (quota settlement, cache store, final
 * ledger entry) runs after its answer left, so nobody waits for it: holding it for a few milliseconds costs no
 * client any latency, and at hundreds of requests per second it turns a socket write per request, in Tollgate and
 * again in Redis (each tens of µs on this VM), into one per window. A quota stays exact meanwhile: the reservation
 * made on the request path holds until its settlement lands. The batch leaves when the window closes, when it holds
 * `maxCommands`, or at `flush()` (shutdown).
 */
export class EndPhaseBatcher {
  readonly #client: RedisClient;
  readonly #windowMs: number;
  readonly #maxCommands: number;
  #queued: Queued[] = [];
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(client: RedisClient, options: { windowMs: number; maxCommands?: number }) {
    this.#client = client;
    this.#windowMs = options.windowMs;
    this.#maxCommands = options.maxCommands ?? 1000;
  }

  /** Queues one request's end-phase commands; resolves once the batch holding them has every reply. */
  add(commands: Queued[]): Promise<void> {
    if (this.#windowMs <= 0 || this.#client instanceof Cluster) return execute(this.#client, commands);
    for (const command of commands) this.#queued.push(command);
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (this.#queued.length >= this.#maxCommands) void this.flush();
    else if (!this.#timer) this.#timer = setTimeout(() => void this.flush(), this.#windowMs);
    return done;
  }

  /** Sends what is queued now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#queued.length === 0) return;
    const batch = this.#queued;
    const waiters = this.#waiters;
    this.#queued = [];
    this.#waiters = [];
    await execute(this.#client, batch);
    for (const resolve of waiters) resolve();
  }
}
