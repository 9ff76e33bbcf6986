import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { RedisStore } from '../store/redis-store.ts';
import type { Store } from '../store/store.ts';
import { BatchWriter } from './batch-writer.ts';
import type { LedgerConfig, LedgerSinkConfig, S3ExportConfig } from './config.ts';
import { JsonlExporter } from './jsonl-exporter.ts';
import { PostgresSink } from './postgres-sink.ts';
import { MemoryLedgerQueue, type LedgerQueue } from './queue.ts';
import { Reconciler } from './reconciler.ts';
import { RedisStreamQueue } from './redis-stream-queue.ts';
import { RequestEntries } from './request-entries.ts';
import { S3Uploader } from './s3-uploader.ts';
import type { GroupBy, LedgerSink, UsageGroup, UsageQuery } from './sink.ts';
import { SqliteSink } from './sqlite-sink.ts';
import type { UsageRecord } from './usage-record.ts';

/** The usage ledger of one Tollgate process: the queue the ledger stage writes to, and what reads it back. */
export interface Ledger {
  readonly queue: LedgerQueue;
  /** Each request's pending and final entries, written once (by the ledger stage, or riding along with quota calls). */
  readonly entries: RequestEntries;
  readonly sink: LedgerSink;
  aggregate(query: UsageQuery): Promise<UsageGroup[]>;
  /**
   * Spend (and tokens) per scope for a period, from the ledger: what the quota engine uses to rebuild its budget
   * counters after a Redis loss. `scope` picks the grouping (team → per org+team, app → per org+team+app, user and
   * feature → per org); `costNanoUsd` of each group is exact. Records are counted by the time their request
   * started, in [from, to). Entries still in the queue when Redis was lost are not in the ledger (at most one flush
   * interval's worth with a persistent Redis).
   */
  spendByScope(scope: GroupBy, from: number, to: number): Promise<UsageGroup[]>;
  /** Closes orphans now (the reconciler also runs on its own interval). */
  reconcile(): Promise<UsageRecord[]>;
  /** Hears the records this process's reconciler closed as orphaned (e.g. to release their quota reservations). */
  onOrphaned(listener: (records: UsageRecord[]) => Promise<void> | void): void;
  stop(): Promise<void>;
}

export interface LedgerDeps {
  config: LedgerConfig;
  store: Store;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  now: () => number;
}

function createSink(config: Exclude<LedgerSinkConfig, { type: 'none' }>, env: NodeJS.ProcessEnv, logger: Logger): LedgerSink {
  switch (config.type) {
    case 'sqlite':
      return new SqliteSink({ path: resolve(config.path) });
    case 'postgres': {
      const url = config.url ?? (config.url_env ? env[config.url_env] : undefined);
      if (!url) throw new Error(`ledger.sink.url_env: ${config.url_env} is not set`);
      return new PostgresSink({ url, onError: (error) => logger.warn({ err: error }, 'ledger database connection lost') });
    }
  }
}

function createUploader(dir: string, s3: S3ExportConfig, env: NodeJS.ProcessEnv, logger: Logger): S3Uploader {
  const secret = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`ledger.export.s3: ${name} is not set`);
    return value;
  };
  // Checked at start, read at each upload: rotated credentials are picked up without a restart.
  secret(s3.access_key_id_env);
  secret(s3.secret_access_key_env);
  return new S3Uploader({
    dir: resolve(dir),
    endpoint: s3.endpoint ?? `https://s3.${s3.region}.amazonaws.com`,
    bucket: s3.bucket,
    prefix: s3.prefix,
    region: s3.region,
    pathStyle: s3.path_style ?? s3.endpoint !== undefined,
    credentials: () => ({
      accessKeyId: secret(s3.access_key_id_env),
      secretAccessKey: secret(s3.secret_access_key_env),
      ...(s3.session_token_env && env[s3.session_token_env] ? { sessionToken: env[s3.session_token_env] } : {}),
    }),
    afterUpload: s3.after_upload,
    intervalMs: s3.interval_seconds * 1000,
    retryBaseMs: s3.retry_base_ms,
    retryMaxMs: s3.retry_max_ms,
    requestTimeoutMs: s3.request_timeout_ms,
    logger,
  });
}

/**
 * Starts the ledger when a sink is configured (null otherwise): migrations, the batch writer, the reconciler and
 * the exporter. Throws when the database cannot be reached at start, so a misconfigured ledger is seen at once.
 */
export async function startLedger(deps: LedgerDeps): Promise<Ledger | null> {
  const { config, store, logger } = deps;
  if (config.sink.type === 'none') return null;
  const sink = createSink(config.sink, deps.env, logger);
  await sink.migrate();
  const queue: LedgerQueue = store instanceof RedisStore
    ? new RedisStreamQueue({
        client: store.client,
        stream: config.stream.key,
        group: config.stream.group,
        claimIdleMs: config.stream.claim_idle_ms,
        onError: (error, what) => logger.warn({ err: error }, what),
      })
    : new MemoryLedgerQueue();
  const uploader = config.export?.s3 ? createUploader(config.export.dir, config.export.s3, deps.env, logger) : null;
  const exporter = config.export
    ? new JsonlExporter({
        ...(uploader ? { prunable: (name: string) => name.endsWith('.jsonl.uploaded'), onClosed: () => void uploader.uploadPending() } : {}),
        dir: resolve(config.export.dir),
        rotateBytes: config.export.rotate_bytes,
        ...(config.export.rotate_interval_seconds ? { rotateIntervalMs: config.export.rotate_interval_seconds * 1000 } : {}),
        ...(config.export.retention ? { retention: config.export.retention } : {}),
        now: deps.now,
      })
    : null;
  await exporter?.recover();
  uploader?.start();
  // Closed records only: a pending row is not usage yet (its final or orphaned state is exported when it comes).
  const exportRecords = exporter
    ? (records: UsageRecord[]) => exporter.append(records.filter((record) => record.state !== 'pending'))
    : undefined;
  const writer = new BatchWriter({
    queue, sink, batchSize: config.batch_size, flushIntervalMs: config.flush_interval_ms, onCommitted: exportRecords, logger,
  });
  const orphanListeners: Array<(records: UsageRecord[]) => Promise<void> | void> = [];
  const reconciler = new Reconciler({
    sink, orphanTimeoutMs: config.orphan_timeout_ms, intervalMs: config.reconcile_interval_ms, now: deps.now,
    onClosed: async (records) => {
      await exportRecords?.(records);
      for (const listener of orphanListeners) {
        try {
          await listener(records);
        } catch (error) {
          logger.warn({ err: error }, 'an orphaned-records listener failed');
        }
      }
    },
    logger,
  });
  writer.start();
  reconciler.start();
  logger.info({ sink: sink.kind, queue: queue.kind }, 'usage ledger started');

  let stopped: Promise<void> | null = null;
  async function stop(): Promise<void> {
    await reconciler.stop();
    // The stage may still enqueue final entries of requests that ended during shutdown: the writer drains last.
    await writer.stop();
    await queue.close();
    await exporter?.rotate();
    exporter?.stop();
    await uploader?.stop();
    await sink.close();
  }

  return {
    queue,
    entries: new RequestEntries(queue),
    sink,
    aggregate: (query) => sink.aggregate(query),
    spendByScope: (scope, from, to) => sink.aggregate({ groupBy: scope, from, to }),
    reconcile: () => reconciler.runOnce(),
    onOrphaned: (listener) => void orphanListeners.push(listener),
    stop: () => (stopped ??= stop()),
  };
}
