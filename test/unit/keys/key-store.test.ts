import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyNotFoundError, KeyStore, keyStoreKeys } from '../../../src/keys/key-store.ts';
import type { VirtualKeyRecord } from '../../../src/keys/key-store.ts';
import { hashKey, keyPreview } from '../../../src/keys/virtual-key.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { RedisStore } from '../../../src/store/redis-store.ts';
import type { SetOptions, Store } from '../../../src/store/store.ts';
import { useRedisServer } from '../../helpers/redis-server.ts';

/** Passes everything through to a real store and remembers every call and everything written. */
class RecordingStore implements Store {
  readonly kind: 'memory' | 'redis';
  readonly inner: Store;
  readonly calls: string[] = [];
  readonly written: string[] = [];

  constructor(inner: Store) {
    this.inner = inner;
    this.kind = inner.kind;
  }

  get(key: string): Promise<string | null> {
    this.calls.push('get');
    return this.inner.get(key);
  }
  getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.calls.push('getMany');
    return this.inner.getMany(keys);
  }
  set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    this.calls.push('set');
    this.written.push(key, value);
    return this.inner.set(key, value, options);
  }
  delete(...keys: string[]): Promise<number> {
    this.calls.push('delete');
    return this.inner.delete(...keys);
  }
  incrBy(key: string, by: number, options?: { ttlMs?: number }): Promise<number> {
    this.calls.push('incrBy');
    this.written.push(key);
    return this.inner.incrBy(key, by, options);
  }
  ttlMs(key: string): Promise<number | null> {
    this.calls.push('ttlMs');
    return this.inner.ttlMs(key);
  }
  addToSet(key: string, ...members: string[]): Promise<number> {
    this.calls.push('addToSet');
    this.written.push(key, ...members);
    return this.inner.addToSet(key, ...members);
  }
  removeFromSet(key: string, ...members: string[]): Promise<number> {
    this.calls.push('removeFromSet');
    return this.inner.removeFromSet(key, ...members);
  }
  setMembers(key: string): Promise<string[]> {
    this.calls.push('setMembers');
    return this.inner.setMembers(key);
  }
  publish(channel: string, message: string): Promise<void> {
    this.calls.push('publish');
    return this.inner.publish(channel, message);
  }
  subscribe(channel: string, handlers: { onMessage(message: string): void; onGap(): void }): Promise<() => Promise<void>> {
    this.calls.push('subscribe');
    return this.inner.subscribe(channel, handlers);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Subject {
  store: Store;
  now: () => number;
  /** Lets time pass for both the key store's clock and the store's expiry. */
  elapse: (ms: number) => Promise<void>;
  /** Every key and value currently held by the underlying store, for the plaintext scan (null: not supported). */
  dump: () => Promise<string[] | null>;
  cleanup: () => Promise<void>;
}

/** An ISO time between two clock readings (inclusive). */
function expectWithin(iso: string | null, low: number, high: number): void {
  expect(iso).not.toBeNull();
  const ms = Date.parse(iso ?? '');
  expect(ms).toBeGreaterThanOrEqual(low);
  expect(ms).toBeLessThanOrEqual(high);
}

/** Short periods that real-time (Redis) tests wait out, with margin for a loaded machine. */
const GRACE_MS = 500;
const GRACE_S = GRACE_MS / 1000;
const PAST_GRACE_MS = 650;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function keyStoreSuite(name: string, make: () => Promise<Subject>): void {
  describe(`KeyStore on ${name}`, () => {
    let subject: Subject;
    let recording: RecordingStore;
    let keys: KeyStore;
    let counter = 0;

    beforeEach(async () => {
      subject = await make();
      recording = new RecordingStore(subject.store);
      counter = 0;
      keys = new KeyStore({ store: recording, now: subject.now, idFactory: () => `vk_test_${++counter}` });
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    const tenant = { org: 'acme', team: 'search', app: 'web' };

    it('create returns a tg- key once; lookup finds it valid', async () => {
      const { key, record } = await keys.create({ ...tenant, name: 'ci' });
      expect(key).toMatch(/^tg-[A-Za-z0-9_-]{32}$/);
      expect(record).toMatchObject({
        id: 'vk_test_1',
        name: 'ci',
        ...tenant,
        preview: keyPreview(key),
        expiresAt: null,
        revokedAt: null,
        secrets: [{ hash: hashKey(key), validUntil: null }],
      });
      expect(record.preview).toBe(`${key.slice(0, 7)}…${key.slice(-4)}`);
      expect(Math.abs(Date.parse(record.createdAt) - subject.now())).toBeLessThan(1_000);

      const found = await keys.lookup(key);
      expect(found.status).toBe('valid');
      expect(found.status === 'valid' && found.record).toEqual(record);
      expect(await keys.get(record.id)).toEqual(record);
    });

    it('lookup is a single store round trip', async () => {
      const { key } = await keys.create(tenant);
      recording.calls.length = 0;
      await keys.lookup(key);
      expect(recording.calls).toEqual(['get']);
      recording.calls.length = 0;
      await keys.lookup('not even a key');
      expect(recording.calls).toEqual([]);
    });

    describe('with verified keys cached in process', () => {
      let cached: KeyStore;
      let peer: KeyStore;
      const waitFor = async (check: () => Promise<boolean>) => {
        for (let i = 0; i < 100; i++) {
          if (await check()) return;
          await sleep(10);
        }
        throw new Error('not within 1 s');
      };
      beforeEach(async () => {
        cached = new KeyStore({ store: recording, now: subject.now, cache: { maxAgeMs: 60_000, maxEntries: 2 } });
        // Another gateway process on the same store, mutating through its own admin API.
        peer = new KeyStore({ store: subject.store, now: subject.now });
        await cached.start();
      });
      afterEach(async () => cached.stop());

      it('a second lookup costs no store call; unknown keys are never cached', async () => {
        const { key } = await peer.create(tenant);
        recording.calls.length = 0;
        expect((await cached.lookup(key)).status).toBe('valid');
        expect((await cached.lookup(key)).status).toBe('valid');
        expect(recording.calls).toEqual(['get']);
        const unknown = 'tg-' + 'A'.repeat(32);
        await cached.lookup(unknown);
        await cached.lookup(unknown);
        expect(recording.calls).toEqual(['get', 'get', 'get']);
      });

      it('a revocation, rotation or deletion by another process takes effect at once', async () => {
        const revoked = await peer.create(tenant);
        const rotated = await peer.create(tenant);
        const deleted = await peer.create(tenant);
        for (const { key } of [revoked, rotated, deleted]) expect((await cached.lookup(key)).status).toBe('valid');
        await peer.revoke(revoked.record.id);
        await peer.rotate(rotated.record.id, { graceSeconds: 0 });
        await peer.delete(deleted.record.id);
        await waitFor(async () => (await cached.lookup(revoked.key)).status === 'revoked');
        await waitFor(async () => (await cached.lookup(rotated.key)).status === 'unknown');
        await waitFor(async () => (await cached.lookup(deleted.key)).status === 'unknown');
      });

      it('expiry and the end of a rotation grace need no message: the cached record is checked against the clock', async () => {
        const { key, record } = await peer.create({ ...tenant, expiresAt: new Date(subject.now() + GRACE_MS) });
        const other = await peer.create(tenant);
        const next = await peer.rotate(other.record.id, { graceSeconds: GRACE_S });
        expect((await cached.lookup(key)).status).toBe('valid');
        expect((await cached.lookup(other.key)).status).toBe('valid');
        expect((await cached.lookup(next.key)).status).toBe('valid');
        await subject.elapse(PAST_GRACE_MS);
        recording.calls.length = 0;
        const expired = await cached.lookup(key);
        expect(expired.status).toBe('expired');
        expect(expired.status === 'expired' && expired.record.id).toBe(record.id);
        // The maxEntries bound (2) evicted the oldest entry: one lookup reads the store again.
        expect((await cached.lookup(other.key)).status).toBe('unknown');
        expect((await cached.lookup(next.key)).status).toBe('valid');
      });
    });

    it('a wrong key is unknown', async () => {
      const { key } = await keys.create(tenant);
      const other = new KeyStore({ store: new MemoryStore(), now: subject.now });
      const { key: stranger } = await other.create(tenant);
      expect(await keys.lookup(stranger)).toEqual({ status: 'unknown' });
      expect(await keys.lookup(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toEqual({ status: 'unknown' });
      expect(await keys.lookup('')).toEqual({ status: 'unknown' });
      expect(await keys.lookup('sk-proj-abc')).toEqual({ status: 'unknown' });
      expect(await keys.lookup(` ${key}`)).toEqual({ status: 'unknown' });
    });

    it('revoke makes the key revoked, once', async () => {
      const { key, record } = await keys.create(tenant);
      const before = subject.now();
      const revoked = await keys.revoke(record.id);
      expectWithin(revoked.revokedAt, before, subject.now());
      const found = await keys.lookup(key);
      expect(found.status).toBe('revoked');
      expect(found.status === 'revoked' && found.record.id).toBe(record.id);

      await subject.elapse(50);
      expect((await keys.revoke(record.id)).revokedAt).toBe(revoked.revokedAt);
    });

    it('a key past its expiry is expired; setExpiry moves or clears it', async () => {
      const expiresAt = new Date(subject.now() + GRACE_MS);
      const { key, record } = await keys.create({ ...tenant, expiresAt });
      expect(record.expiresAt).toBe(expiresAt.toISOString());
      expect((await keys.lookup(key)).status).toBe('valid');
      await subject.elapse(PAST_GRACE_MS);
      const found = await keys.lookup(key);
      expect(found.status).toBe('expired');

      await keys.setExpiry(record.id, null);
      expect((await keys.lookup(key)).status).toBe('valid');
      await keys.setExpiry(record.id, new Date(subject.now() - 1).toISOString());
      expect((await keys.lookup(key)).status).toBe('expired');
      await expect(keys.setExpiry(record.id, 'not a date')).rejects.toThrow(RangeError);
    });

    it('revoked wins over expired', async () => {
      const { key, record } = await keys.create({ ...tenant, expiresAt: new Date(subject.now() - 1000) });
      await keys.revoke(record.id);
      expect((await keys.lookup(key)).status).toBe('revoked');
    });

    it('rotate: old and new keys both work during the grace period, only the new one after', async () => {
      const { key: oldKey, record } = await keys.create(tenant);
      const before = subject.now();
      const { key: newKey, record: rotated } = await keys.rotate(record.id, { graceSeconds: GRACE_S });
      expect(newKey).not.toBe(oldKey);
      expect(rotated.preview).toBe(keyPreview(newKey));
      expect(rotated.secrets).toEqual([
        { hash: hashKey(newKey), validUntil: null },
        { hash: hashKey(oldKey), validUntil: expect.any(String) },
      ]);
      expectWithin(rotated.secrets[1]?.validUntil ?? null, before + GRACE_MS, subject.now() + GRACE_MS);
      expect((await keys.lookup(oldKey)).status).toBe('valid');
      expect((await keys.lookup(newKey)).status).toBe('valid');

      await subject.elapse(PAST_GRACE_MS);
      expect(await keys.lookup(oldKey)).toEqual({ status: 'unknown' });
      expect((await keys.lookup(newKey)).status).toBe('valid');
      // The old secret's entry expired by itself in the store.
      expect(await subject.store.get(keyStoreKeys.secret(hashKey(oldKey)))).toBeNull();
      // The next write drops it from the record too.
      const after = await keys.setExpiry(record.id, null);
      expect(after.secrets).toEqual([{ hash: hashKey(newKey), validUntil: null }]);
    });

    it('rotate with no grace cuts the old key off at once; a second rotation keeps the shorter grace', async () => {
      const { key: first, record } = await keys.create(tenant);
      const { key: second } = await keys.rotate(record.id, { graceSeconds: 0 });
      expect(await keys.lookup(first)).toEqual({ status: 'unknown' });
      expect(await subject.store.get(keyStoreKeys.secret(hashKey(first)))).toBeNull();

      const { key: third, record: middle } = await keys.rotate(record.id, { graceSeconds: GRACE_S });
      const { key: fourth, record: latest } = await keys.rotate(record.id, { graceSeconds: 3600 });
      // `second` keeps its short grace, not the hour.
      const graceOf = (r: VirtualKeyRecord, k: string): string | null | undefined =>
        r.secrets.find((s) => s.hash === hashKey(k))?.validUntil;
      expect(graceOf(latest, second)).toBe(graceOf(middle, second));
      expect(Date.parse(graceOf(latest, third) ?? '')).toBeGreaterThan(subject.now() + 3_000_000);
      await subject.elapse(PAST_GRACE_MS);
      expect((await keys.lookup(second)).status).toBe('unknown');
      expect((await keys.lookup(third)).status).toBe('valid');
      expect((await keys.lookup(fourth)).status).toBe('valid');
      await expect(keys.rotate(record.id, { graceSeconds: -1 })).rejects.toThrow(RangeError);
    });

    it('revoking reaches every secret of the key, including one in its grace period', async () => {
      const { key: oldKey, record } = await keys.create(tenant);
      const { key: newKey } = await keys.rotate(record.id, { graceSeconds: 60 });
      await keys.revoke(record.id);
      expect((await keys.lookup(oldKey)).status).toBe('revoked');
      expect((await keys.lookup(newKey)).status).toBe('revoked');
    });

    it('list returns all keys or those of one org/team/app', async () => {
      await keys.create({ org: 'acme', team: 'search', app: 'web' });
      await subject.elapse(5);
      await keys.create({ org: 'acme', team: 'search', app: 'batch' });
      await subject.elapse(5);
      await keys.create({ org: 'acme', team: 'hr', app: 'bot' });
      await subject.elapse(5);
      await keys.create({ org: 'globex', team: 'search', app: 'web' });

      expect((await keys.list()).map((r) => r.id)).toEqual(['vk_test_1', 'vk_test_2', 'vk_test_3', 'vk_test_4']);
      expect((await keys.list({ team: 'search' })).map((r) => r.id)).toEqual(['vk_test_1', 'vk_test_2', 'vk_test_4']);
      expect((await keys.list({ org: 'acme', team: 'search' })).map((r) => r.id)).toEqual(['vk_test_1', 'vk_test_2']);
      expect((await keys.list({ app: 'bot' })).map((r) => r.id)).toEqual(['vk_test_3']);
      expect(await keys.list({ org: 'nobody' })).toEqual([]);
    });

    it('an unknown id throws KeyNotFoundError', async () => {
      await expect(keys.get('nope')).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(keys.revoke('nope')).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(keys.setExpiry('nope', null)).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(keys.rotate('nope', { graceSeconds: 1 })).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(keys.delete('nope')).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(keys.revoke('nope')).rejects.toMatchObject({ id: 'nope', name: 'KeyNotFoundError' });
    });

    it('create rejects a missing tenant part and a duplicate id', async () => {
      await expect(keys.create({ org: '', team: 't', app: 'a' })).rejects.toThrow(/org/);
      const fixed = new KeyStore({ store: recording, now: subject.now, idFactory: () => 'same' });
      await fixed.create(tenant);
      await expect(fixed.create(tenant)).rejects.toThrow(/already exists/);
    });

    it('delete removes the key entirely', async () => {
      const { key, record } = await keys.create(tenant);
      await keys.rotate(record.id, { graceSeconds: 60 });
      await keys.delete(record.id);
      expect(await keys.lookup(key)).toEqual({ status: 'unknown' });
      expect(await keys.list()).toEqual([]);
      await expect(keys.get(record.id)).rejects.toBeInstanceOf(KeyNotFoundError);
    });

    it('concurrent mutations of one key do not lose each other', async () => {
      const { record } = await keys.create(tenant);
      const expiry = new Date(subject.now() + 3_600_000).toISOString();
      await Promise.all([
        keys.revoke(record.id),
        keys.setExpiry(record.id, expiry),
        keys.rotate(record.id, { graceSeconds: 60 }),
      ]);
      const final = await keys.get(record.id);
      expect(final.revokedAt).not.toBeNull();
      expect(final.expiresAt).toBe(expiry);
      expect(final.secrets).toHaveLength(2);
    });

    it('the plaintext key is never written to the store', async () => {
      const plaintexts: string[] = [];
      const { key, record } = await keys.create({ ...tenant, name: 'scan me' });
      plaintexts.push(key);
      plaintexts.push((await keys.rotate(record.id, { graceSeconds: 60 })).key);
      await keys.revoke(record.id);
      await keys.setExpiry(record.id, new Date(subject.now() + 10_000));
      plaintexts.push((await keys.create({ ...tenant, app: 'other' })).key);

      const secretParts = plaintexts.map((plaintext) => plaintext.slice(3));
      for (const text of recording.written) {
        for (const part of secretParts) expect(text).not.toContain(part);
      }
      expect(recording.written.length).toBeGreaterThan(0);
      const held = await subject.dump();
      if (held !== null) {
        expect(held.length).toBeGreaterThan(0);
        for (const text of held) for (const part of secretParts) expect(text).not.toContain(part);
      }
    });
  });
}

keyStoreSuite('MemoryStore (controlled clock)', async () => {
  let time = 1_700_000_000_000;
  const now = (): number => time;
  const store = new MemoryStore({ now });
  return {
    store,
    now,
    elapse: async (ms) => {
      time += ms;
    },
    dump: async () => null,
    cleanup: () => store.close(),
  };
});

describe('with a real Redis', () => {
  const redis = useRedisServer();

  keyStoreSuite('RedisStore (real time)', async () => {
    const admin = redis.admin;
    await admin.flushall();
    const store = new RedisStore({ url: redis.url });
    return {
      store,
      now: Date.now,
      elapse: sleep,
      dump: async () => {
        const held: string[] = [];
        for (const key of await admin.keys('*')) {
          held.push(key);
          const type = await admin.type(key);
          if (type === 'string') held.push((await admin.get(key)) ?? '');
          else if (type === 'set') held.push(...(await admin.smembers(key)));
          else held.push(`unexpected type ${type}`);
        }
        return held;
      },
      cleanup: () => store.close(),
    };
  });
});
