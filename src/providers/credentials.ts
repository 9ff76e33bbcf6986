import { readFile } from 'node:fs/promises';
import type { ProviderConfig } from '../config/types.ts';

const ENV_TTL_MS = 1000;

/**
 * Provider credentials from an env var or a secret file. File contents are cached and refreshed in the
 * background (a rotated secret file is picked up within `refreshMs`), so the hot path never does file I/O.
 */
export class CredentialResolver {
  private readonly fileCache = new Map<string, string | null>();
  private readonly env: NodeJS.ProcessEnv;
  private timer: NodeJS.Timeout | null = null;
  /** Round-robin position per multi-key credential. */
  private readonly turns = new Map<string, number>();
  /**
   * process.env values read in the last second. Reading process.env is a call into C++ that copies the value out
   * each time (~6 µs per request here, issue 11); an env var only changes when this process itself sets it, and
   * such a change is seen within ENV_TTL_MS.
   */
  private readonly envCache = new Map<string, { value: string | undefined; readAt: number }>();
  /** The keys of each multi-key source, split once. */
  private readonly splitKeys = new Map<string, string[]>();

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

  /**
   * The provider credential for one request (or one attempt). A source may hold several keys, separated by commas
   * or line breaks (e.g. keys of several projects, to spread rate limits): they are used in turn.
   */
  get(provider: ProviderConfig): string | null {
    const raw = this.source(provider);
    if (!raw) return null;
    const keys = this.keysOf(raw);
    if (keys.length === 0) return null;
    if (keys.length === 1) return keys[0] as string;
    const turn = this.turns.get(raw) ?? 0;
    this.turns.set(raw, turn + 1);
    return keys[turn % keys.length] as string;
  }

  /** Whether a credential is there to use, without taking a turn of the rotation (unlike get). */
  has(provider: ProviderConfig): boolean {
    const raw = this.source(provider);
    return raw ? this.keysOf(raw).length > 0 : false;
  }

  private keysOf(raw: string): string[] {
    let keys = this.splitKeys.get(raw);
    if (!keys) {
      keys = /[,\n]/.test(raw) ? raw.split(/[,\n]/).map((k) => k.trim()).filter(Boolean) : [raw];
      if (this.splitKeys.size > 256) this.splitKeys.clear(); // rotated values must not pile up
      this.splitKeys.set(raw, keys);
    }
    return keys;
  }

  private envValue(name: string): string | undefined {
    // A plain object (tests, tools) is cheap to read and may change at any time: read it directly.
    if (this.env !== process.env) return this.env[name]?.trim();
    const now = Date.now();
    const cached = this.envCache.get(name);
    if (cached && now - cached.readAt < ENV_TTL_MS) return cached.value;
    const value = this.env[name]?.trim();
    this.envCache.set(name, { value, readAt: now });
    return value;
  }

  /** The raw value of the provider's credential source: the env var first, then the secret file. */
  private source(provider: ProviderConfig): string | null {
    return (provider.api_key_env ? this.envValue(provider.api_key_env) : undefined) ||
      (provider.api_key_file ? this.fileCache.get(provider.api_key_file) ?? null : null);
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
