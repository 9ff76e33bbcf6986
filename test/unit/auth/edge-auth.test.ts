import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter, DEFAULT_FAILURE_LIMIT } from '../../../src/auth/failure-limiter.ts';
import { claimAt, looksLikeJwt, tenantFromJwt } from '../../../src/auth/jwt-tenant.ts';
import { isLoopbackAddress } from '../../../src/gateway.ts';
import { constantTimeEqual } from '../../../src/keys/virtual-key.ts';

describe('AuthFailureLimiter', () => {
  it('blocks after max_failures within the window, for block_seconds', () => {
    let now = 1_000_000;
    const limiter = new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 3, window_seconds: 10, block_seconds: 30 }), () => now);
    expect(limiter.recordFailure('10.0.0.1')).toBe(0);
    expect(limiter.recordFailure('10.0.0.1')).toBe(0);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(0);
    expect(limiter.recordFailure('10.0.0.1')).toBe(30);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(30);
    expect(limiter.retryAfterSeconds('10.0.0.2')).toBe(0);
    now += 29_500;
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(1);
    now += 1_000;
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('forgets failures older than the window and bounds the addresses it tracks', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 2, window_seconds: 1, max_tracked_addresses: 100 }), () => now);
    limiter.recordFailure('a');
    now += 1_500;
    expect(limiter.recordFailure('a')).toBe(0);
    for (let i = 0; i < 500; i++) limiter.recordFailure(`addr-${i}`);
    expect(limiter.trackedAddresses).toBe(100);
  });

  it('does nothing when disabled or without an address', () => {
    const limiter = new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, enabled: false, max_failures: 1 }));
    expect(limiter.recordFailure('a')).toBe(0);
    expect(new AuthFailureLimiter(() => ({ ...DEFAULT_FAILURE_LIMIT, max_failures: 1 })).recordFailure(null)).toBe(0);
  });
});

describe('JWT claims to tenant', () => {
  const provider = {
    issuer: 'i', audiences: [], jwks_cache_seconds: 600, clock_skew_seconds: 60,
    claims: { org: { value: 'acme' }, team: 'groups.team', app: 'azp' },
  };
  it('reads dotted claims and fixed values; user defaults to sub', () => {
    expect(tenantFromJwt({ provider: 'p', claims: { sub: 'alice', azp: 'notebook', groups: { team: 'research' } } }, provider))
      .toEqual({ ok: true, org: 'acme', team: 'research', app: 'notebook', user: 'alice', subject: 'alice' });
  });
  it('names the missing claim', () => {
    expect(tenantFromJwt({ provider: 'p', claims: { sub: 'a', azp: 'x' } }, provider)).toEqual({ ok: false, missing: 'groups.team' });
    expect(claimAt({ a: ['x'] }, 'a')).toBeNull();
  });
  it('recognises compact JWS shapes only', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt('tg-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
  });
});

describe('constant-time comparison and admin exposure', () => {
  it('compares equal and unequal strings of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['0.0.0.0', '10.0.0.5', '::']) expect(isLoopbackAddress(a)).toBe(false);
  });
});
