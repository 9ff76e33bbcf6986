import { describe, expect, it } from 'vitest';
import { createStore } from '../../../src/store/create-store.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { storeContract } from './contract.ts';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_700_000_000_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

storeContract('MemoryStore', async () => {
  const clock = fakeClock();
  const store = new MemoryStore({ now: clock.now });
  return { store, advance: clock.advance, cleanup: () => store.close() };
});

describe('MemoryStore', () => {
  it('sweeps expired entries on writes, so memory does not grow without bound', async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ now: clock.now });
    for (let i = 0; i < 10_000; i += 1) await store.set(`short:${i}`, 'x', { ttlMs: 10 });
    expect(store.size).toBe(10_000);
    clock.advance(20);
    // Never reading the expired keys: only writes to other keys run.
    for (let i = 0; i < 1_000; i += 1) await store.set(`live:${i % 10}`, 'y');
    expect(store.size).toBe(10);
  });

  it('keeps entries that are not expired while sweeping', async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ now: clock.now, sweepBatch: 1_000 });
    await store.set('long', 'v', { ttlMs: 60_000 });
    await store.set('forever', 'v');
    await store.addToSet('set', 'm');
    clock.advance(1_000);
    for (let i = 0; i < 100; i += 1) await store.incrBy(`n:${i}`, 1, { ttlMs: 10 });
    clock.advance(20);
    await store.set('trigger', 'v');
    expect(await store.getMany(['long', 'forever'])).toEqual(['v', 'v']);
    expect(await store.setMembers('set')).toEqual(['m']);
  });

  it('expires at exactly the ttl on its clock', async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ now: clock.now });
    await store.set('k', 'v', { ttlMs: 100 });
    clock.advance(99);
    expect(await store.get('k')).toBe('v');
    expect(await store.ttlMs('k')).toBe(1);
    clock.advance(1);
    expect(await store.get('k')).toBeNull();
  });

  it('refuses to work once closed', async () => {
    const store = new MemoryStore();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    await expect(store.get('k')).rejects.toThrow(/closed/);
  });

  it('createStore builds a memory store with the given clock', async () => {
    const clock = fakeClock();
    const store = createStore({ type: 'memory' }, { now: clock.now });
    expect(store.kind).toBe('memory');
    await store.set('k', 'v', { ttlMs: 5 });
    clock.advance(5);
    expect(await store.get('k')).toBeNull();
  });
});
