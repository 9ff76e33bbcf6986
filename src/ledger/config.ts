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
  export?: { dir: string; rotate_bytes: number; rotate_interval_seconds: number; retention: RetentionSettings; s3?: S3ExportConfig };
}

/** Closed export files go to S3-compatible object storage (see s3-uploader.ts). */
export interface S3ExportConfig {
  bucket: string;
  prefix: string;
  region: string;
  /** The S3 API base URL; default the AWS regional endpoint. */
  endpoint?: string;
  /** Path-style URLs (default when an endpoint is given: S3-compatible servers expect them). */
  path_style?: boolean;
  access_key_id_env: string;
  secret_access_key_env: string;
  session_token_env?: string;
  after_upload: 'delete' | 'keep';
  interval_seconds: number;
  retry_base_ms: number;
  retry_max_ms: number;
  request_timeout_ms: number;
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
        /** Upload closed files to S3-compatible storage (a file is removed or marked only after the store took it). */
        s3: {
          type: 'object', additionalProperties: false, required: ['bucket'],
          properties: {
            bucket: { type: 'string', minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9.-]+[a-z0-9]$' },
            prefix: { type: 'string', pattern: '^$|^[^/].*/$', default: 'tollgate/usage/' },
            region: { type: 'string', minLength: 1, default: 'us-east-1' },
            endpoint: { type: 'string', pattern: '^https?://' },
            path_style: { type: 'boolean' },
            access_key_id_env: { type: 'string', minLength: 1, default: 'AWS_ACCESS_KEY_ID' },
            secret_access_key_env: { type: 'string', minLength: 1, default: 'AWS_SECRET_ACCESS_KEY' },
            session_token_env: { type: 'string', minLength: 1 },
            /** keep: uploaded files are renamed .jsonl.uploaded and the retention settings prune those. */
            after_upload: { enum: ['delete', 'keep'], default: 'delete' },
            interval_seconds: { type: 'integer', minimum: 1, default: 60 },
            retry_base_ms: { ...ms, default: 1000 },
            retry_max_ms: { ...ms, default: 300_000 },
            request_timeout_ms: { ...ms, default: 60_000 },
          },
        },
      },
    },
  },
} as const;
