import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter, DEFAULT_FAILURE_LIMIT } from '../../../src/auth/failure-limiter.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { claimAt, looksLikeJwt, tenantFromJwt } from '../../../src/auth/jwt-tenant.ts';
import { isLoopbackAddress } from '../../../src/gateway.ts';
import { constantTimeEqual } from '../../../src/keys/virtual-key.ts';

describe('AuthFailureLimiter', () => {
  it('blocks after max_failures within the window, for block_seconds', async () => {
    let now = 1_000_000;
    const limiter = new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 3, window_seconds: 10, block_seconds: 30 }), () => now);
    expect(await limiter.recordFailure('10.0.0.1')).toBe(0);
    expect(await limiter.recordFailure('10.0.0.1')).toBe(0);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(0);
    expect(await limiter.recordFailure('10.0.0.1')).toBe(30);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(30);
    expect(limiter.retryAfterSeconds('10.0.0.2')).toBe(0);
    now += 29_500;
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(1);
    now += 1_000;
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('forgets failures older than the window and bounds the addresses it tracks', async () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 2, window_seconds: 1, max_tracked_addresses: 100 }), () => now);
    await limiter.recordFailure('a');
    now += 1_500;
    expect(await limiter.recordFailure('a')).toBe(0);
    for (let i = 0; i < 500; i++) await limiter.recordFailure(`addr-${i}`);
    expect(limiter.trackedAddresses).toBe(100);
  });

  it('does nothing when disabled or without an address', async () => {
    const limiter = new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, enabled: false, max_failures: 1 }));
    expect(await limiter.recordFailure('a')).toBe(0);
    expect(await new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 1 })).recordFailure(null)).toBe(0);
  });
});

describe('AuthFailureLimiter shared through the store', () => {
  it('counts failures of all processes together and blocks the address in every process', async () => {
    const store = new MemoryStore();
    const limits = () => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 4, window_seconds: 60, block_seconds: 30 });
    const [a, b] = [new AuthFailureLimiter(limits, Date.now, store), new AuthFailureLimiter(limits, Date.now, store)];
    await a.start();
    await b.start();
    expect(await a.recordFailure('10.1.1.1')).toBe(0);
    expect(await b.recordFailure('10.1.1.1')).toBe(0);
    expect(await a.recordFailure('10.1.1.1')).toBe(0);
    // The fourth failure, on the other process, is the fourth of the address.
    expect(await b.recordFailure('10.1.1.1')).toBe(30);
    await new Promise((r) => setTimeout(r, 20));
    expect(a.retryAfterSeconds('10.1.1.1')).toBe(30);
    expect(b.retryAfterSeconds('10.1.1.1')).toBe(30);
    expect(a.retryAfterSeconds('10.1.1.2')).toBe(0);
    await a.stop();
    await b.stop();
    await store.close();
  });
});

describe('JWT claims to tenant', () => {
  const provider = {
    issuer: 'i', audiences: [], jwks_cache_seconds: 600, clock_skew_seconds: 60,
    claims: { org: { value: 'acme' }, team: 'groups.team', app: 'azp' },
  };
  it('reads dotted claims and fixed values; user defaults to sub', async () => {
    expect(tenantFromJwt({ provider: 'p', claims: { sub: 'alice', azp: 'notebook', groups: { team: 'research' } } }, provider))
      .toEqual({ ok: true, org: 'acme', team: 'research', app: 'notebook', user: 'alice', subject: 'alice' });
  });
  it('names the missing claim', async () => {
    expect(tenantFromJwt({ provider: 'p', claims: { sub: 'a', azp: 'x' } }, provider)).toEqual({ ok: false, missing: 'groups.team' });
    expect(claimAt({ a: ['x'] }, 'a')).toBeNull();
  });
  it('recognises compact JWS shapes only', async () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt('tg-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
  });
});

describe('constant-time comparison and admin exposure', () => {
  it('compares equal and unequal strings of any length', async () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
  it('knows loopback addresses', async () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['0.0.0.0', '10.0.0.5', '::']) expect(isLoopbackAddress(a)).toBe(false);
  });
});
