import { retentionSchema, type RetentionSettings } from '../audit/retention.ts';
/**
 * The `ledger` section of config/tollgate.yaml. The queue follows the store: the Redis store gives a durable Redis
 * Stream shared by every process, the memory store an in-process buffer (see queue.ts for what that loses).
 */
export type LedgerSinkConfig =
  | { type: 'none' }
  /** Embedded, one machine: a file read and written by a worker thread. */
  | { type: 'sqlite'; path: string }
  | { type: 'postgres'; url?: string; url_env?: string };

export interface LedgerConfig {
  sink: LedgerSinkConfig;
  /** The Redis Stream and its consumer group (Redis store only). */
  stream: { key: string; group: string; claim_idle_ms: number };
  batch_size: number;
  flush_interval_ms: number;
  /** A record still pending after this long is closed as orphaned: more than the longest request may take. */
  orphan_timeout_ms: number;
  reconcile_interval_ms: number;
  /** JSONL files for a load job (S3, BigQuery); off when absent. */
  export?: { dir: string; rotate_bytes: number; rotate_interval_seconds: number; retention: RetentionSettings };
}

const ms = { type: 'integer', minimum: 1 } as const;

export const ledgerConfigSchema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    sink: {
      default: { type: 'none' },
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { const: 'none' } } },
        {
          type: 'object', additionalProperties: false, required: ['type', 'path'],
          properties: { type: { const: 'sqlite' }, path: { type: 'string', minLength: 1 } },
        },
        {
          type: 'object', additionalProperties: false, required: ['type'],
          oneOf: [{ required: ['url'] }, { required: ['url_env'] }],
          properties: { type: { const: 'postgres' }, url: { type: 'string', pattern: '^postgres(ql)?://' }, url_env: { type: 'string' } },
        },
      ],
    },
    stream: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        key: { type: 'string', minLength: 1, default: 'tollgate:{ledger}:usage' },
        group: { type: 'string', minLength: 1, default: 'ledger' },
        claim_idle_ms: { ...ms, default: 30_000 },
      },
    },
    batch_size: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
    flush_interval_ms: { ...ms, default: 200 },
    orphan_timeout_ms: { ...ms, default: 15 * 60_000 },
    reconcile_interval_ms: { ...ms, default: 60_000 },
    export: {
      type: 'object', additionalProperties: false, required: ['dir'],
      properties: {
        dir: { type: 'string', minLength: 1 },
        rotate_bytes: { type: 'integer', minimum: 1, default: 64 * 1024 * 1024 },
        /** A file is also closed once it is this old, so a load job sees records within this delay. */
        rotate_interval_seconds: { type: 'integer', minimum: 1, default: 3600 },
        /** Closed files (.jsonl) beyond these are deleted, oldest first (unset: all kept; files being written never). */
        retention: retentionSchema,
      },
    },
  },
} as const;
