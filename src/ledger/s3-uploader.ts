import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sha256Hex, signRequest, type SigV4Credentials } from './sigv4.ts';

export interface S3UploaderOptions {
  dir: string;
  /** The S3 API's base URL, e.g. https://s3.eu-west-1.amazonaws.com or a MinIO/SeaweedFS address. */
  endpoint: string;
  bucket: string;
  /** Key prefix ('' or ending in '/'); objects land under <prefix>dt=YYYY-MM-DD/<file name>. */
  prefix: string;
  region: string;
  /** Path style (endpoint/bucket/key), which every S3-compatible server takes; else virtual-hosted (bucket.endpoint). */
  pathStyle: boolean;
  credentials: () => SigV4Credentials;
  /** Uploaded files are deleted, or kept renamed to .jsonl.uploaded (retention then prunes those). */
  afterUpload: 'delete' | 'keep';
  /** Scan for closed files this often; a failed upload is retried with backoff from retryBaseMs to retryMaxMs. */
  intervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  logger: Logger;
  now?: () => number;
  fetch?: typeof fetch;
}

/** A closed export file: usage-<stamp>-<host>-<pid>.jsonl (open ones end in .open and are never taken). */
const CLOSED = /^usage-(\d{4})(\d{2})(\d{2})T[^-]+-.+\.jsonl$/;

/**
 * Ships the exporter's closed JSONL files to S3-compatible object storage. A file leaves the directory only after
 * the store acknowledged it (2xx): a failed or cut upload leaves it in place and it is tried again, with exponential
 * backoff while the store keeps failing. Uploading a file twice (a crash between the answer and the delete) writes
 * the same object again: the key is the file name, so nothing is duplicated.
 */
export class S3Uploader {
  readonly #options: S3UploaderOptions;
  readonly #fetch: typeof fetch;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #failures = 0;
  #notBefore = 0;
  #stopped = false;

  constructor(options: S3UploaderOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  start(): void {
    this.#timer = setInterval(() => void this.uploadPending(), this.#options.intervalMs);
    this.#timer.unref();
    void this.uploadPending();
  }

  /** Stops the timer after a last attempt (shutdown: the exporter has just closed its current file). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
    this.#notBefore = 0;
    await this.uploadPending();
    this.#stopped = true;
  }

  /** Uploads every closed file now (unless backing off); concurrent calls share one pass. Never throws. */
  uploadPending(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Object key of a file: date partition from the stamp in its name (Hive style, which BigQuery and ClickHouse read). */
  objectKey(file: string): string {
    const match = CLOSED.exec(file);
    const partition = match ? `dt=${match[1]}-${match[2]}-${match[3]}/` : '';
    return `${this.#options.prefix}${partition}${file}`;
  }

  async #pass(): Promise<void> {
    if (this.#now() < this.#notBefore) return;
    let files: string[];
    try {
      files = (await readdir(this.#options.dir)).filter((file) => CLOSED.test(file)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#options.logger.warn({ err: error }, 'usage export: cannot list the export directory');
      return;
    }
    for (const file of files) {
      try {
        await this.#upload(file);
        this.#failures = 0;
        this.#notBefore = 0;
      } catch (error) {
        this.#failures += 1;
        const delay = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (this.#failures - 1));
        // Jitter: replicas sharing a bucket that failed together do not retry together.
        this.#notBefore = this.#now() + Math.round(delay * (0.5 + Math.random() / 2));
        this.#options.logger.warn({ err: error, file, failures: this.#failures, retry_in_ms: this.#notBefore - this.#now() }, 'usage export: upload failed; the file stays and is retried');
        return;
      }
    }
  }

  #url(key: string): URL {
    const base = new URL(this.#options.endpoint);
    const path = key.split('/').map(encodeURIComponent).join('/');
    if (this.#options.pathStyle) return new URL(`${base.origin}${base.pathname.replace(/\/$/, '')}/${this.#options.bucket}/${path}`);
    return new URL(`${base.protocol}//${this.#options.bucket}.${base.host}/${path}`);
  }

  async #upload(file: string): Promise<void> {
    const path = join(this.#options.dir, file);
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch (error) {
      // Another process sharing the directory took it first.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const url = this.#url(this.objectKey(file));
    const headers = signRequest(
      { method: 'PUT', url, headers: { 'content-type': 'application/x-ndjson', 'content-length': String(body.length) }, payloadSha256: sha256Hex(body) },
      this.#options.credentials(), this.#options.region, new Date(this.#now()),
    );
    const response = await this.#fetch(url, { method: 'PUT', headers, body, signal: AbortSignal.timeout(this.#options.requestTimeoutMs) });
    const text = await response.text();
    if (!response.ok) throw new Error(`PUT ${url.pathname}: HTTP ${response.status} ${/<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? ''}`.trim());
    try {
      if (this.#options.afterUpload === 'delete') await unlink(path);
      else await rename(path, `${path}.uploaded`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#options.logger.info({ file, key: this.objectKey(file), bytes: body.length }, 'usage export: uploaded');
  }
}
