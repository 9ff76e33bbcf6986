import { readFile } from 'node:fs/promises';
import { watchFileChanges, type FileChangeWatch } from '../process/file-change-watch.ts';
import type { Logger } from 'pino';
import { loadPolicyBundle, PolicyBundleError, type PolicyBundle } from './bundle.ts';
import { MAX_BUNDLE_BYTES } from './tar.ts';

export interface PolicyHolderOptions {
  /** The bundle file (opa build output). */
  path: string;
  entrypoint: string;
  /** Reload when the file changes (besides POST /admin/v1/policies/reload). */
  watch: boolean;
  logger: Logger;
  now?: () => Date;
}

export interface PolicyReloadResult {
  changed: boolean;
  revision: string;
  previous_revision: string;
}

/**
 * Holds the live policy bundle. A reload loads and checks the new bundle completely before one assignment swaps it
 * in; a request reads `current()` once, so it finishes on the bundle it started with. A bundle that fails to load
 * leaves the running one in place and is reported (admin API, /healthz, log).
 */
export class PolicyHolder {
  private bundle: PolicyBundle;
  private readonly options: PolicyHolderOptions;
  private reloads = 0;
  private lastError: { message: string; at: string } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FileChangeWatch | null = null;
  private debounce: NodeJS.Timeout | null = null;

  private constructor(bundle: PolicyBundle, options: PolicyHolderOptions) {
    this.bundle = bundle;
    this.options = options;
  }

  /** Loads the bundle; a missing or invalid bundle at start is an error (no policy would mean no enforcement). */
  static async start(options: PolicyHolderOptions): Promise<PolicyHolder> {
    const holder = new PolicyHolder(await PolicyHolder.load(options), options);
    if (options.watch) holder.watchFile();
    options.logger.info({ revision: holder.bundle.revision, bundle: options.path }, 'policy bundle loaded');
    return holder;
  }

  private static async load(options: PolicyHolderOptions): Promise<PolicyBundle> {
    let bytes: Buffer;
    try {
      bytes = await readFile(options.path);
    } catch (error) {
      throw new PolicyBundleError(`cannot read policy bundle ${options.path}: ${(error as Error).message} (build it with npm run policy:build)`);
    }
    if (bytes.length > MAX_BUNDLE_BYTES) throw new PolicyBundleError(`policy bundle ${options.path} is larger than ${MAX_BUNDLE_BYTES} bytes`);
    try {
      return await loadPolicyBundle(bytes, { entrypoint: options.entrypoint, now: options.now });
    } catch (error) {
      if (error instanceof PolicyBundleError) throw new PolicyBundleError(`invalid policy bundle ${options.path}: ${error.message}`);
      throw error;
    }
  }

  current(): PolicyBundle {
    return this.bundle;
  }

  /** Loads the file again and swaps it in if valid. Reloads run one at a time, in order. */
  reload(): Promise<PolicyReloadResult> {
    const next = this.queue.then(() => this.reloadNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<PolicyReloadResult> {
    const previous = this.bundle;
    let loaded: PolicyBundle;
    try {
      loaded = await PolicyHolder.load(this.options);
    } catch (error) {
      const message = (error as Error).message;
      this.lastError = { message, at: new Date().toISOString() };
      this.options.logger.error({ err: { message }, revision: previous.revision }, 'policy reload rejected; keeping the running bundle');
      throw error;
    }
    this.lastError = null;
    if (loaded.revision === previous.revision) return { changed: false, revision: previous.revision, previous_revision: previous.revision };
    this.bundle = loaded;
    this.reloads += 1;
    this.options.logger.info({ revision: loaded.revision, previous_revision: previous.revision }, 'policy bundle reloaded');
    return { changed: true, revision: loaded.revision, previous_revision: previous.revision };
  }

  status(): Record<string, unknown> {
    return {
      status: this.lastError ? 'stale' : 'loaded',
      revision: this.bundle.revision,
      manifest_revision: this.bundle.manifestRevision,
      entrypoint: this.bundle.entrypoint,
      loaded_at: this.bundle.loadedAt,
      bundle: this.options.path,
      reloads: this.reloads,
      last_error: this.lastError,
    };
  }

  /** Polls the file's stat (file-change-watch.ts says why): build tools and ConfigMaps replace it rather than write into it. */
  private watchFile(): void {
    this.watcher = watchFileChanges(this.options.path, () => {
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload().catch(() => undefined), 100);
    });
  }

  stop(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
