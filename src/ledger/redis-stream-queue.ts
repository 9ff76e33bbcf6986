import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { RedisClient } from '../store/redis-store.ts';
import type { LedgerQueue, QueuedEntry } from './queue.ts';
import { decodeRecord, encodeRecord, type UsageRecord } from './usage-record.ts';

export interface RedisStreamQueueOptions {
  /** The store's client: fail-fast command timeouts, right for the request path (XADD). */
  client: RedisClient;
  stream: string;
  group: string;
  /** Entries a consumer read but did not ack for this long are taken over (its process died). */
  claimIdleMs: number;
  /** Final entries that could not be added while Redis was down, kept to retry (the oldest are dropped beyond). */
  maxSpill?: number;
  onError?: (error: Error, what: string) => void;
}

type StreamEntry = [id: string, fields: string[] | null];

/**
 * XREADGROUP on one stream answers { stream: entries }: a flat [stream, entries] over RESP3 (a map), or
 * [[stream, entries]] over RESP2; both are accepted so the client's protocol does not matter.
 */
function entriesOfRead(reply: unknown[] | null): StreamEntry[] {
  if (!reply || reply.length === 0) return [];
  const pair = typeof reply[0] === 'string' ? reply : (reply[0] as unknown[]);
  return (pair[1] as StreamEntry[] | undefined) ?? [];
}

/**
 * The durable queue: a Redis Stream read through a consumer group by every Tollgate process. An entry stays in
 * the group's pending list until the batch writer acks it after the database commit; if its reader dies first,
 * another process (or the restarted one) claims it after `claimIdleMs` (XAUTOCLAIM) and writes it again, which the
 * sink's upsert makes harmless. Acked entries are deleted, so the stream holds only what is not yet in the ledger.
 * One key, so it works unchanged on Redis Cluster. Redis must persist (AOF) for the queue to survive a Redis crash.
 */
export class RedisStreamQueue implements LedgerQueue {
  readonly kind = 'redis-stream' as const;
  readonly #options: RedisStreamQueueOptions;
  /** Blocking reads hold a connection: a dedicated one, so they never delay the request path's commands. */
  #reader: RedisClient | null = null;
  readonly #consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #spill: string[] = [];
  #groupReady = false;
  #claimCursor = '0-0';
  #nextClaimAt = 0;

  constructor(options: RedisStreamQueueOptions) {
    this.#options = options;
  }

  get consumerName(): string {
    return this.#consumer;
  }

  async enqueue(record: UsageRecord): Promise<void> {
    const payload = encodeRecord(record);
    try {
      await this.#options.client.xadd(this.#options.stream, '*', 'r', payload);
    } catch (error) {
      this.#keep(record, payload);
      throw error;
    }
  }

  /**
   * The XADD that queues `record`, for a caller that sends it in one round trip with its own commands (the quota
   * engine); `failed` must hear when it did not go through, so a final entry is kept for retry as by enqueue.
   */
  entryCommand(record: UsageRecord): { args: [string, ...string[]]; failed(): void } {
    const payload = encodeRecord(record);
    return { args: ['xadd', this.#options.stream, '*', 'r', payload], failed: () => this.#keep(record, payload) };
  }

  /** A final entry is worth keeping until Redis is back; a pending one is not (the final one will follow). */
  #keep(record: UsageRecord, payload: string): void {
    if (record.state !== 'final') return;
    this.#spill.push(payload);
    const max = this.#options.maxSpill ?? 10_000;
    if (this.#spill.length > max) this.#spill.splice(0, this.#spill.length - max);
  }

  async read(max: number, waitMs: number): Promise<QueuedEntry[]> {
    const reader = this.#readerClient(waitMs);
    await this.#ensureGroup(reader);
    await this.#retrySpill();
    try {
      const now = Date.now();
      if (now >= this.#nextClaimAt) {
        const claimed = await this.#claimStale(reader, max);
        if (claimed.length) return claimed;
        this.#nextClaimAt = now + Math.max(100, Math.floor(this.#options.claimIdleMs / 2));
      }
      const reply = (await reader.call(
        'XREADGROUP', 'GROUP', this.#options.group, this.#consumer, 'COUNT', String(max), 'BLOCK', String(waitMs),
        'STREAMS', this.#options.stream, '>',
      )) as unknown[] | null;
      return this.#decode(entriesOfRead(reply));
    } catch (error) {
      // Redis lost its data (restart without persistence, FLUSHALL): the group is gone with the stream, and the
      // entries added since would never be read. The next read creates it again.
      if (error instanceof Error && error.message.startsWith('NOGROUP')) {
        this.#groupReady = false;
        this.#claimCursor = '0-0';
      }
      throw error;
    }
  }

  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const { stream, group } = this.#options;
    await this.#options.client.multi().xack(stream, group, ...ids).xdel(stream, ...ids).exec();
  }

  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = null;
    reader?.disconnect();
  }

  #readerClient(waitMs: number): RedisClient {
    if (this.#reader) return this.#reader;
    const client = this.#options.client;
    // The blocking read must outlive the store's fail-fast command timeout.
    this.#reader = client instanceof Redis ? client.duplicate({ commandTimeout: waitMs + 5000 }) : client.duplicate();
    this.#reader.on('error', (error: Error) => this.#options.onError?.(error, 'ledger queue reader'));
    return this.#reader;
  }

  async #ensureGroup(reader: RedisClient): Promise<void> {
    if (this.#groupReady) return;
    try {
      // From id 0: entries added before the group existed are read too.
      await reader.call('XGROUP', 'CREATE', this.#options.stream, this.#options.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('BUSYGROUP')) throw error;
    }
    this.#groupReady = true;
  }

  /** Takes over entries that another consumer read and never acked (a crashed or killed process). */
  async #claimStale(reader: RedisClient, max: number): Promise<QueuedEntry[]> {
    const reply = (await reader.call(
      'XAUTOCLAIM', this.#options.stream, this.#options.group, this.#consumer, String(this.#options.claimIdleMs),
      this.#claimCursor, 'COUNT', String(max),
    )) as [string, StreamEntry[], string[]?];
    this.#claimCursor = reply[0];
    return this.#decode(reply[1]);
  }

  async #retrySpill(): Promise<void> {
    if (this.#spill.length === 0) return;
    const batch = this.#spill.splice(0, 500);
    const pipeline = this.#options.client.pipeline();
    for (const payload of batch) pipeline.xadd(this.#options.stream, '*', 'r', payload);
    const results = await pipeline.exec().catch(() => null);
    const failed = results ? batch.filter((_, i) => results[i]?.[0]) : batch;
    this.#spill.unshift(...failed);
  }

  #decode(entries: StreamEntry[]): Promise<QueuedEntry[]> | QueuedEntry[] {
    const decoded: QueuedEntry[] = [];
    const poison: string[] = [];
    for (const [id, fields] of entries) {
      // A null body: the entry was deleted (acked elsewhere) after it was claimed.
      if (!fields) continue;
      const payload = fields[fields.indexOf('r') + 1];
      try {
        if (payload === undefined) throw new Error('no record field');
        decoded.push({ id, record: decodeRecord(payload) });
      } catch (error) {
        this.#options.onError?.(error as Error, `unreadable ledger entry ${id} dropped`);
        poison.push(id);
      }
    }
    // An entry no reader can decode would otherwise be claimed again forever.
    if (poison.length) return this.ack(poison).then(() => decoded);
    return decoded;
  }
}
