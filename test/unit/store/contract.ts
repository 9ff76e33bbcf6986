import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/store.ts';

export interface StoreUnderTest {
  store: Store;
  /** Moves the store's clock forward; absent for stores on real time (Redis), where tests wait instead. */
  advance?: (ms: number) => void;
  cleanup: () => Promise<void>;
}

/** Short enough to wait out on a real Redis, long enough that a loaded machine does not cross it by accident. */
const SHORT_TTL_MS = 100;
const PAST_SHORT_TTL_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The behaviour every `Store` must have; each implementation's test file calls this once. */
export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;

    /** Lets `ms` pass for the store: moves the fake clock, or really waits. */
    const elapse = async (ms: number): Promise<void> => {
      if (subject.advance) subject.advance(ms);
      else await sleep(ms);
    };

    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    it('gets what was set, and null for a missing key', async () => {
      expect(await store.get('k')).toBeNull();
      expect(await store.set('k', 'v1')).toBe(true);
      expect(await store.get('k')).toBe('v1');
      expect(await store.set('k', 'v2')).toBe(true);
      expect(await store.get('k')).toBe('v2');
      expect(await store.set('empty', '')).toBe(true);
      expect(await store.get('empty')).toBe('');
    });

    it('keeps values byte-exact (unicode, JSON)', async () => {
      const value = JSON.stringify({ name: 'clé ✓ 😀', n: 1 });
      await store.set('json', value);
      expect(await store.get('json')).toBe(value);
    });

    it('getMany answers in the order asked, null for missing keys', async () => {
      await store.set('a', '1');
      await store.set('c', '3');
      expect(await store.getMany(['c', 'missing', 'a', 'c'])).toEqual(['3', null, '1', '3']);
      expect(await store.getMany([])).toEqual([]);
    });

    it('onlyIfAbsent sets only a missing key', async () => {
      expect(await store.set('nx', 'first', { onlyIfAbsent: true })).toBe(true);
      expect(await store.set('nx', 'second', { onlyIfAbsent: true })).toBe(false);
      expect(await store.get('nx')).toBe('first');
    });

    it('onlyIfAbsent succeeds again once the key expired', async () => {
      expect(await store.set('nx-ttl', 'first', { onlyIfAbsent: true, ttlMs: SHORT_TTL_MS })).toBe(true);
      expect(await store.set('nx-ttl', 'second', { onlyIfAbsent: true, ttlMs: SHORT_TTL_MS })).toBe(false);
      await elapse(PAST_SHORT_TTL_MS);
      expect(await store.set('nx-ttl', 'third', { onlyIfAbsent: true })).toBe(true);
      expect(await store.get('nx-ttl')).toBe('third');
    });

    it('a ttl expires the key; ttlMs reports the remaining time, null without expiry or key', async () => {
      await store.set('t', 'v', { ttlMs: 10_000 });
      const remaining = await store.ttlMs('t');
      expect(remaining).not.toBeNull();
      expect(remaining).toBeGreaterThan(9_000);
      expect(remaining).toBeLessThanOrEqual(10_000);

      await store.set('plain', 'v');
      expect(await store.ttlMs('plain')).toBeNull();
      expect(await store.ttlMs('missing')).toBeNull();

      await store.set('short', 'v', { ttlMs: SHORT_TTL_MS });
      expect(await store.get('short')).toBe('v');
      await elapse(PAST_SHORT_TTL_MS);
      expect(await store.get('short')).toBeNull();
      expect(await store.getMany(['short', 't'])).toEqual([null, 'v']);
      expect(await store.ttlMs('short')).toBeNull();
      expect(await store.delete('short')).toBe(0);
    });

    it('set without ttl clears an earlier ttl', async () => {
      await store.set('k', 'v', { ttlMs: 10_000 });
      await store.set('k', 'w');
      expect(await store.ttlMs('k')).toBeNull();
    });

    it('rejects a non-positive ttl', async () => {
      await expect(store.set('k', 'v', { ttlMs: 0 })).rejects.toThrow();
      await expect(store.set('k', 'v', { ttlMs: -5 })).rejects.toThrow();
      await expect(store.incrBy('k', 1, { ttlMs: Number.NaN })).rejects.toThrow();
    });

    it('incrBy starts a new key at 0 and returns the new value, negative steps included', async () => {
      expect(await store.incrBy('n', 5)).toBe(5);
      expect(await store.incrBy('n', -7)).toBe(-2);
      expect(await store.incrBy('n', 0)).toBe(-2);
      expect(await store.get('n')).toBe('-2');
      expect(await store.incrBy('fresh-negative', -3)).toBe(-3);
    });

    it('incrBy continues a counter that was written with set', async () => {
      await store.set('n', '40');
      expect(await store.incrBy('n', 2)).toBe(42);
    });

    it('incrBy rejects a non-integer value or step', async () => {
      await store.set('text', 'abc');
      await expect(store.incrBy('text', 1)).rejects.toThrow();
      expect(await store.get('text')).toBe('abc');
      await expect(store.incrBy('n', 1.5)).rejects.toThrow();
    });

    it('incrBy is atomic under 200 concurrent calls', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, () => store.incrBy('hot', 1, { ttlMs: 60_000 })));
      expect(await store.get('hot')).toBe('200');
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await store.ttlMs('hot')).toBeGreaterThan(0);
    });

    it('incrBy sets the ttl only when it creates the key', async () => {
      expect(await store.incrBy('c', 1, { ttlMs: SHORT_TTL_MS })).toBe(1);
      const first = await store.ttlMs('c');
      expect(first).not.toBeNull();
      expect(first).toBeLessThanOrEqual(SHORT_TTL_MS);
      // A later call with a longer ttl does not extend the window.
      expect(await store.incrBy('c', 1, { ttlMs: 60_000 })).toBe(2);
      expect(await store.ttlMs('c')).toBeLessThanOrEqual(SHORT_TTL_MS);
      await elapse(PAST_SHORT_TTL_MS);
      expect(await store.get('c')).toBeNull();
      // After expiry the counter starts again from zero with a fresh ttl.
      expect(await store.incrBy('c', 1, { ttlMs: 10_000 })).toBe(1);
      expect(await store.ttlMs('c')).toBeGreaterThan(1_000);

      // An existing key without expiry keeps having none.
      await store.set('forever', '7');
      expect(await store.incrBy('forever', 1, { ttlMs: 1_000 })).toBe(8);
      expect(await store.ttlMs('forever')).toBeNull();
    });

    it('delete returns how many of the keys existed', async () => {
      await store.set('d1', 'x');
      await store.set('d2', 'x');
      await store.addToSet('dset', 'm');
      expect(await store.delete('d1', 'missing', 'd2', 'dset')).toBe(3);
      expect(await store.get('d1')).toBeNull();
      expect(await store.setMembers('dset')).toEqual([]);
      expect(await store.delete('d1')).toBe(0);
      expect(await store.delete()).toBe(0);
    });

    it('sets add, remove and list members', async () => {
      expect(await store.setMembers('s')).toEqual([]);
      expect(await store.addToSet('s', 'a', 'b', 'a')).toBe(2);
      expect(await store.addToSet('s', 'b', 'c')).toBe(1);
      expect((await store.setMembers('s')).sort()).toEqual(['a', 'b', 'c']);
      expect(await store.removeFromSet('s', 'a', 'zzz')).toBe(1);
      expect((await store.setMembers('s')).sort()).toEqual(['b', 'c']);
      expect(await store.removeFromSet('missing', 'a')).toBe(0);
      expect(await store.addToSet('s')).toBe(0);
    });

    it('removing the last member removes the set', async () => {
      await store.addToSet('s', 'only');
      expect(await store.removeFromSet('s', 'only')).toBe(1);
      expect(await store.delete('s')).toBe(0);
    });

    it('getMany reads a set key as null; get on a set key throws', async () => {
      await store.addToSet('s', 'a');
      await store.set('k', 'v');
      expect(await store.getMany(['s', 'k'])).toEqual([null, 'v']);
      await expect(store.get('s')).rejects.toThrow(/WRONGTYPE/);
    });

    it('delivers published messages to every subscriber of the channel, and none after unsubscribing', async () => {
      const heard: string[] = [];
      const other: string[] = [];
      const off = await store.subscribe('ch', { onMessage: (m) => heard.push(`a:${m}`), onGap: () => heard.push('gap') });
      await store.subscribe('ch', { onMessage: (m) => heard.push(`b:${m}`), onGap: () => {} });
      await store.subscribe('other', { onMessage: (m) => other.push(m), onGap: () => {} });
      await store.publish('ch', 'one');
      for (let i = 0; i < 50 && heard.length < 2; i++) await sleep(10);
      expect(heard.sort()).toEqual(['a:one', 'b:one']);
      await off();
      await store.publish('ch', 'two');
      for (let i = 0; i < 50 && heard.length < 3; i++) await sleep(10);
      expect(heard.sort()).toEqual(['a:one', 'b:one', 'b:two']);
      expect(other).toEqual([]);
    });

    it('ping resolves on a working store', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
