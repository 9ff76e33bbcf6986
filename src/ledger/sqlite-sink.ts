import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LedgerSink, UsageGroup, UsageQuery } from './sink.ts';
import type { SqliteLedgerOptions } from './sqlite-ledger.ts';
import type { WorkerRequest } from './sqlite-worker.ts';
import type { UsageRecord } from './usage-record.ts';

type Reply = { id: number; result?: unknown; error?: string };

/** The worker's file beside this one: .ts when run from source, .js in the compiled build. */
const WORKER_URL = new URL(`./sqlite-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * The SQLite ledger behind LedgerSink: calls go to a worker thread that owns the database (sqlite-ledger.ts), so
 * the event loop never waits on a synchronous commit. Records and BigInt costs cross by structured clone.
 */
export class SqliteSink implements LedgerSink {
  readonly kind = 'sqlite' as const;
  readonly #path: string;
  readonly #options: SqliteLedgerOptions;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #exited = false;

  constructor(options: { path: string } & SqliteLedgerOptions) {
    const { path, ...ledgerOptions } = options;
    this.#path = path;
    this.#options = ledgerOptions;
    this.#worker = new Worker(WORKER_URL);
    // The worker holds no timers of its own; unref'd, it never keeps the process alive.
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const waiter = this.#waiting.get(reply.id);
      if (!waiter) return;
      this.#waiting.delete(reply.id);
      if (reply.error !== undefined) waiter.reject(new Error(`SQLite ledger: ${reply.error}`));
      else waiter.resolve(reply.result);
    });
    this.#worker.on('error', (error) => this.#failAll(error));
    this.#worker.on('exit', () => {
      this.#exited = true;
      this.#failAll(new Error('SQLite ledger worker exited'));
    });
  }

  #failAll(error: Error): void {
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }

  #call<T>(method: WorkerRequest['method'], ...args: unknown[]): Promise<T> {
    if (this.#exited) return Promise.reject(new Error('SQLite ledger is closed'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args } satisfies WorkerRequest);
    });
  }

  /** Opening runs the migrations (sqlite-ledger.ts). */
  migrate(): Promise<void> {
    return this.#call('open', this.#path, this.#options);
  }

  write(records: readonly UsageRecord[]): Promise<UsageRecord[]> {
    return this.#call('write', records);
  }

  closeOrphans(startedBefore: number, now: number): Promise<UsageRecord[]> {
    return this.#call('closeOrphans', startedBefore, now);
  }

  aggregate(query: UsageQuery): Promise<UsageGroup[]> {
    return this.#call('aggregate', query);
  }

  feedback(requestId: string, tenant: { org: string; team: string; app: string }, score: number): Promise<boolean> {
    return this.#call('feedback', requestId, tenant, score);
  }

  get(requestId: string): Promise<UsageRecord | null> {
    return this.#call('get', requestId);
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    await this.#call('close').catch(() => undefined);
    await this.#worker.terminate();
  }
}
