import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.ts';
import { constantTimeEqual, generateVirtualKey, hashKey, keyPreview, looksLikeVirtualKey } from './virtual-key.ts';

export interface VirtualKeySecret {
  /** sha256 hex of the plaintext key (see virtual-key.ts for why that is enough). */
  hash: string;
  /** null for the current secret; set for a rotated-out secret in its grace period. */
  validUntil: string | null;
}

export interface VirtualKeyRecord {
  id: string;
  name: string | null;
  org: string;
  team: string;
  app: string;
  /** Display form of the current key, e.g. `tg-AbCd…wXyZ`. */
  preview: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** The current secret and rotated-out ones still in their grace period. */
  secrets: VirtualKeySecret[];
}

export type KeyLookup =
  | { status: 'valid'; record: VirtualKeyRecord }
  | { status: 'unknown' }
  | { status: 'revoked'; record: VirtualKeyRecord }
  | { status: 'expired'; record: VirtualKeyRecord };

export interface CreateKeyInput {
  org: string;
  team: string;
  app: string;
  name?: string | null;
  /** ISO date-time or Date; null/absent = never expires. */
  expiresAt?: string | Date | null;
}

export interface KeyFilter {
  org?: string;
  team?: string;
  app?: string;
}

export interface KeyStoreDeps {
  store: Store;
  now: () => number;
  idFactory?: () => string;
  /**
   * Keeps looked-up records in process, so a request's key check costs no store round trip (see `start`). Every
   * mutation publishes the hashes it touched and every process drops them at once; `maxAgeMs` bounds what a lost
   * message could leave stale. Off unless given (the admin CLI needs no cache).
   */
  cache?: { maxAgeMs: number; maxEntries: number };
}

/** Channel on which every mutation names the secret hashes whose cached records are stale. */
export const KEYS_CHANGED_CHANNEL = 'tg:vk:changed';
const SUBSCRIBE_RETRY_MS = 3000;

export class KeyNotFoundError extends Error {
  readonly id: string;

  constructor(id: string) {
    super(`virtual key ${id} not found`);
    this.name = 'KeyNotFoundError';
    this.id = id;
  }
}

/** Store key names. Each is its own hash slot in a Cluster: nothing here needs a multi-key command. */
export const keyStoreKeys = {
  ids: 'tg:vk:ids',
  record: (id: string): string => `tg:vk:id:${id}`,
  secret: (hash: string): string => `tg:vk:secret:${hash}`,
} as const;

function parseHashes(message: string): string[] | null {
  try {
    const value: unknown = JSON.parse(message);
    if (Array.isArray(value) && value.every((hash) => typeof hash === 'string')) return value as string[];
  } catch {
    // Not ours or garbled: drop everything rather than keep something stale.
  }
  return null;
}

function defaultId(): string {
  return `vk_${randomBytes(12).toString('base64url')}`;
}

function toIso(value: string | Date, field: string): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError(`${field} is not a valid date: ${String(value)}`);
  return new Date(ms).toISOString();
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${field} must be a non-empty string`);
  return value;
}

function parseRecord(json: string): VirtualKeyRecord {
  const value: unknown = JSON.parse(json);
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { id?: unknown }).id !== 'string' ||
    !Array.isArray((value as { secrets?: unknown }).secrets)
  ) {
    throw new Error('malformed virtual key record in the store');
  }
  return value as VirtualKeyRecord;
}

/** Reached at `now`? (null = never.) */
function passed(iso: string | null, now: number): boolean {
  return iso !== null && Date.parse(iso) <= now;
}

/** What presenting the secret `hash` of `record` means at `now`; time-based changes need no invalidation. */
function classify(record: VirtualKeyRecord, hash: string, now: number): KeyLookup {
  const secret = record.secrets.find((candidate) => constantTimeEqual(candidate.hash, hash));
  // Not (or no longer) a secret of this key, or its rotation grace has ended: as good as never issued.
  if (!secret || passed(secret.validUntil, now)) return { status: 'unknown' };
  if (record.revokedAt !== null) return { status: 'revoked', record };
  if (passed(record.expiresAt, now)) return { status: 'expired', record };
  return { status: 'valid', record };
}

/**
 * Virtual keys, kept in the shared `Store`.
 *
 * Layout:
 * - `tg:vk:id:<id>`         → the record (JSON)
 * - `tg:vk:secret:<sha256>` → the same record, denormalised, so that `lookup` (the hot path) is one GET; a
 *                             rotated-out secret's entry carries a TTL and disappears when its grace ends
 * - `tg:vk:ids`             → set of all ids (for `list`)
 *
 * Every mutation rewrites the record under its id and under every secret, so all gateways see it at their next
 * lookup. Only hashes are stored; the plaintext key exists only in the return value of `create`/`rotate`.
 * Mutations of one id are serialised within this process; two admin processes mutating the same key at the same
 * instant could still race (last write wins), which admin use makes unlikely.
 */
export class KeyStore {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #locks = new Map<string, Promise<void>>();
  readonly #cacheLimits: KeyStoreDeps['cache'] | null;
  readonly #cache = new Map<string, { record: VirtualKeyRecord; at: number }>();
  /** Bumped by every invalidation: a lookup that started before one does not cache what it read. */
  #generation = 0;
  #unsubscribe: (() => Promise<void>) | null = null;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(deps: KeyStoreDeps) {
    this.#store = deps.store;
    this.#now = deps.now;
    this.#newId = deps.idFactory ?? defaultId;
    this.#cacheLimits = deps.cache ?? null;
  }

  /**
   * Listens for other processes' mutations; only then may the cache serve lookups. A store that is down now does
   * not stop the start: lookups go to the store until a later attempt (every few seconds) subscribes.
   */
  async start(): Promise<void> {
    if (!this.#cacheLimits || this.#unsubscribe || this.#stopped) return;
    try {
      const unsubscribe = await this.#store.subscribe(KEYS_CHANGED_CHANNEL, {
        onMessage: (message) => this.#invalidate(parseHashes(message)),
        onGap: () => this.#invalidate(null),
      });
      if (this.#stopped) await unsubscribe();
      else this.#unsubscribe = unsubscribe;
    } catch {
      this.#retry = setTimeout(() => void this.start(), SUBSCRIBE_RETRY_MS);
      this.#retry.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    await unsubscribe?.();
    this.#cache.clear();
  }

  /** Drops the cached records of these hashes (null: all of them). */
  #invalidate(hashes: string[] | null): void {
    this.#generation += 1;
    if (hashes === null) this.#cache.clear();
    else for (const hash of hashes) this.#cache.delete(hash);
  }

  async create(input: CreateKeyInput): Promise<{ key: string; record: VirtualKeyRecord }> {
    const key = generateVirtualKey();
    const record: VirtualKeyRecord = {
      id: requireText(this.#newId(), 'id'),
      name: input.name ?? null,
      org: requireText(input.org, 'org'),
      team: requireText(input.team, 'team'),
      app: requireText(input.app, 'app'),
      preview: keyPreview(key),
      createdAt: new Date(this.#now()).toISOString(),
      expiresAt: input.expiresAt == null ? null : toIso(input.expiresAt, 'expiresAt'),
      revokedAt: null,
      secrets: [{ hash: hashKey(key), validUntil: null }],
    };
    return this.#withLock(record.id, async () => {
      if ((await this.#store.get(keyStoreKeys.record(record.id))) !== null) {
        throw new Error(`virtual key id ${record.id} already exists`);
      }
      await this.#persist(record, []);
      return { key, record };
    });
  }

  /**
   * The hot path: a cached record (no round trip) while the cache is on and listening, else one store GET. Unknown
   * keys are never cached: a key created elsewhere works at once.
   */
  async lookup(plaintext: string): Promise<KeyLookup> {
    if (!looksLikeVirtualKey(plaintext)) return { status: 'unknown' };
    const hash = hashKey(plaintext);
    const limits = this.#unsubscribe ? this.#cacheLimits : null;
    const cached = limits ? this.#cache.get(hash) : undefined;
    if (cached && limits && this.#now() - cached.at < limits.maxAgeMs) return classify(cached.record, hash, this.#now());
    const generation = this.#generation;
    const json = await this.#store.get(keyStoreKeys.secret(hash));
    if (json === null) return { status: 'unknown' };
    const record = parseRecord(json);
    if (limits && generation === this.#generation) {
      this.#cache.delete(hash);
      this.#cache.set(hash, { record, at: this.#now() });
      // Oldest first out: a Map iterates in insertion order.
      if (this.#cache.size > limits.maxEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    return classify(record, hash, this.#now());
  }

  async get(id: string): Promise<VirtualKeyRecord> {
    const json = await this.#store.get(keyStoreKeys.record(id));
    if (json === null) throw new KeyNotFoundError(id);
    return parseRecord(json);
  }

  /** All keys, optionally only those of one org/team/app, oldest first. */
  async list(filter: KeyFilter = {}): Promise<VirtualKeyRecord[]> {
    const ids = await this.#store.setMembers(keyStoreKeys.ids);
    // One GET per id rather than one MGET: the record keys live in different Cluster slots. Admin path only.
    const jsons = await Promise.all(ids.map((id) => this.#store.get(keyStoreKeys.record(id))));
    const records: VirtualKeyRecord[] = [];
    for (const json of jsons) {
      if (json === null) continue;
      const record = parseRecord(json);
      if (filter.org !== undefined && record.org !== filter.org) continue;
      if (filter.team !== undefined && record.team !== filter.team) continue;
      if (filter.app !== undefined && record.app !== filter.app) continue;
      records.push(record);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Revokes the key (all its secrets). Idempotent: a second call keeps the first revocation time. */
  async revoke(id: string): Promise<VirtualKeyRecord> {
    return this.#mutate(id, (record) => {
      record.revokedAt ??= new Date(this.#now()).toISOString();
    });
  }

  async setExpiry(id: string, expiresAt: string | Date | null): Promise<VirtualKeyRecord> {
    const iso = expiresAt === null ? null : toIso(expiresAt, 'expiresAt');
    return this.#mutate(id, (record) => {
      record.expiresAt = iso;
    });
  }

  /**
   * Issues a new secret for the key. The previous secret(s) stay valid for `graceSeconds` more (never longer
   * than a grace they already had), then their store entries expire on their own. `graceSeconds: 0` cuts them
   * off at once.
   */
  async rotate(id: string, options: { graceSeconds: number }): Promise<{ key: string; record: VirtualKeyRecord }> {
    const { graceSeconds } = options;
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0) {
      throw new RangeError(`graceSeconds must be a non-negative number, got ${graceSeconds}`);
    }
    const key = generateVirtualKey();
    const record = await this.#mutate(id, (record) => {
      const graceEnd = this.#now() + graceSeconds * 1000;
      const retired = record.secrets.map((secret) => {
        const until = secret.validUntil === null ? graceEnd : Math.min(Date.parse(secret.validUntil), graceEnd);
        return { hash: secret.hash, validUntil: new Date(until).toISOString() };
      });
      record.secrets = [{ hash: hashKey(key), validUntil: null }, ...retired];
      record.preview = keyPreview(key);
    });
    return { key, record };
  }

  /** Removes the key and every trace of it from the store. */
  async delete(id: string): Promise<void> {
    await this.#withLock(id, async () => {
      const record = await this.get(id);
      await this.#store.removeFromSet(keyStoreKeys.ids, id);
      await this.#store.delete(keyStoreKeys.record(id));
      for (const secret of record.secrets) await this.#store.delete(keyStoreKeys.secret(secret.hash));
      await this.#announce(record.secrets.map((secret) => secret.hash));
    });
  }

  /** Tells every process (this one at once) that the records cached under these hashes are stale. */
  async #announce(hashes: string[]): Promise<void> {
    if (hashes.length === 0) return;
    this.#invalidate(hashes);
    await this.#store.publish(KEYS_CHANGED_CHANNEL, JSON.stringify(hashes));
  }

  async #mutate(id: string, change: (record: VirtualKeyRecord) => void): Promise<VirtualKeyRecord> {
    return this.#withLock(id, async () => {
      const record = await this.get(id);
      const before = record.secrets.map((secret) => secret.hash);
      change(record);
      const kept = new Set(record.secrets.map((secret) => secret.hash));
      await this.#persist(
        record,
        before.filter((hash) => !kept.has(hash)),
      );
      await this.#announce([...new Set([...before, ...kept])]);
      return record;
    });
  }

  /**
   * Writes the record under every live secret (with a TTL for secrets in grace), then under its id, and drops
   * secrets whose grace is over, including from the record itself.
   */
  async #persist(record: VirtualKeyRecord, removedHashes: string[]): Promise<void> {
    const now = this.#now();
    const expired = record.secrets.filter((secret) => passed(secret.validUntil, now)).map((secret) => secret.hash);
    record.secrets = record.secrets.filter((secret) => !passed(secret.validUntil, now));
    const json = JSON.stringify(record);
    await Promise.all(
      record.secrets.map((secret) =>
        this.#store.set(
          keyStoreKeys.secret(secret.hash),
          json,
          secret.validUntil === null ? {} : { ttlMs: Date.parse(secret.validUntil) - now },
        ),
      ),
    );
    await this.#store.set(keyStoreKeys.record(record.id), json);
    const stale = [...removedHashes, ...expired];
    // One DEL per key: the secret entries hash to different Cluster slots.
    await Promise.all(stale.map((hash) => this.#store.delete(keyStoreKeys.secret(hash))));
    await this.#store.addToSet(keyStoreKeys.ids, record.id);
  }

  /** Runs `task` after any earlier task on the same id (in this process) has finished. */
  async #withLock<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const run = previous.then(task);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }
}
