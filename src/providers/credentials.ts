import { readFile } from 'node:fs/promises';
import type { ProviderConfig } from '../config/types.ts';

/**
 * Provider credentials from an env var or a secret file. File contents are cached and refreshed in the
 * background (a rotated secret file is picked up within `refreshMs`), so the hot path never does file I/O.
 */
export class CredentialResolver {
  private readonly fileCache = new Map<string, string | null>();
  private readonly env: NodeJS.ProcessEnv;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: { env?: NodeJS.ProcessEnv } = {}) {
    this.env = options.env ?? process.env;
  }

  /** Loads every file credential of these providers now; call before serving and after a config reload. */
  async preload(providers: Iterable<ProviderConfig>, refreshMs = 10_000): Promise<void> {
    const files = [...providers].flatMap((p) => (p.api_key_file ? [p.api_key_file] : []));
    await Promise.all(files.map((file) => this.refresh(file)));
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void Promise.all(files.map((file) => this.refresh(file))), refreshMs);
    this.timer.unref();
  }

  get(provider: ProviderConfig): string | null {
    if (provider.api_key_env) {
      const value = this.env[provider.api_key_env]?.trim();
      if (value) return value;
    }
    if (provider.api_key_file) return this.fileCache.get(provider.api_key_file) ?? null;
    return null;
  }

  /** Whether the provider declares a credential source at all (a keyless local vLLM does not). */
  static needsCredential(provider: ProviderConfig): boolean {
    return Boolean(provider.api_key_env || provider.api_key_file);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async refresh(file: string): Promise<void> {
    const value = await readFile(file, 'utf8').then((text) => text.trim() || null, () => null);
    this.fileCache.set(file, value);
  }
}
