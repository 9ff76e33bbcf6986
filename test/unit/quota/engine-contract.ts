import { expect, it } from 'vitest';
import type { Tenant } from '../../../src/pipeline/context.ts';
import type { QuotasConfig } from '../../../src/quota/config.ts';
import type { QuotaEngine, QuotaPlan } from '../../../src/quota/engine.ts';
import { quotaPlan } from '../../../src/quota/plan.ts';

export function quotasConfig(partial: Partial<QuotasConfig> = {}): QuotasConfig {
  return {
    on_store_failure: 'closed',
    default_max_tokens: 100,
    enforce_max_tokens: false,
    models: {},
    limits: { key: {}, app: {}, team: {}, org: {}, ...partial.limits },
    budgets: { team: {}, app: {}, user: {}, feature: {}, ...partial.budgets },
    alerts: { thresholds: [50, 80, 100], ...partial.alerts },
    leases: {
      enabled: true, min_requests_per_second: 50, lease_requests: 32, max_headroom_fraction: 0.1, lease_ms: 1000, settle_flush_ms: 50,
      ...partial.leases,
    },
    ...(partial.pricing_file ? { pricing_file: partial.pricing_file } : {}),
  };
}

let orgCounter = 0;
/** A tenant of a fresh org, so each test has keys of its own (and, on a cluster, its own hash slot). */
export function freshTenant(overrides: Partial<Tenant> = {}): Tenant {
  orgCounter += 1;
  return { org: `org${process.pid}x${orgCounter}`, team: 'platform', app: 'playground', user: null, feature: null, keyId: 'key-1', ...overrides };
}

export interface ContractSetup {
  /** An engine; calling it twice gives two "replicas" sharing one store (the memory engine: the same instance). */
  engine(): QuotaEngine;
  /** The plan's clock (budget periods). */
  now(): number;
  /** Tokens a bucket may refill while a test runs (0 for a frozen clock). */
  refillSlack(limitPerMinute: number, elapsedMs: number): number;
}

const NANO = 1_000_000_000;

/** The semantics every QuotaEngine must have; run on memory, Redis and a Redis Cluster. */
export function quotaEngineContract(setup: ContractSetup): void {
  const planFor = (config: QuotasConfig, tenant: Tenant): QuotaPlan => quotaPlan(config, tenant, setup.now());

  it('admits until a tokens-per-minute bucket is short, then denies with the wait for the missing tokens', async () => {
    const engine = setup.engine();
    const plan = planFor(quotasConfig({ limits: { key: {}, app: {}, team: { '*': { tpm: 1000 } }, org: {} } }), freshTenant());
    const started = Date.now();
    const first = await engine.reserve(plan, { tokens: 600, nanoUsd: 0 });
    expect(first).toMatchObject({ admitted: true });
    expect(first.admitted && first.levels[0]).toBe(400);
    const second = await engine.reserve(plan, { tokens: 600, nanoUsd: 0 });
    const slack = setup.refillSlack(1000, Date.now() - started);
    expect(second.admitted).toBe(false);
    if (second.admitted || second.kind !== 'rate') throw new Error('expected a rate denial');
    expect(second.bucket).toBe(0);
    expect(second.levels[0]).toBeGreaterThanOrEqual(400);
    expect(second.levels[0]).toBeLessThanOrEqual(400 + slack);
    // 200 missing tokens at 1000 per minute: 12 s.
    expect(second.retryMs).toBeLessThanOrEqual(12_000);
    expect(second.retryMs).toBeGreaterThanOrEqual(12_000 - slack * 60);
  });

  it('is all or nothing across scopes: a denial by one scope takes nothing from the others', async () => {
    const engine = setup.engine();
    const config = quotasConfig({ limits: { key: { '*': { tpm: 500 } }, app: {}, team: { '*': { tpm: 1000 } }, org: {} } });
    const tenant = freshTenant();
    const plan = planFor(config, tenant);
    expect(plan.buckets.map((b) => b.scope)).toEqual(['key', 'team']);
    expect((await engine.reserve(plan, { tokens: 400, nanoUsd: 0 })).admitted).toBe(true);
    const denied = await engine.reserve(plan, { tokens: 200, nanoUsd: 0 });
    if (denied.admitted || denied.kind !== 'rate') throw new Error('expected a rate denial');
    expect(plan.buckets[denied.bucket]?.scope).toBe('key');
    // Another key of the same team still finds the team's 600 tokens.
    const otherKey = planFor(config, { ...tenant, keyId: 'key-2' });
    const other = await engine.reserve(otherKey, { tokens: 500, nanoUsd: 0 });
    expect(other.admitted).toBe(true);
    expect(other.admitted && other.levels[1]).toBeLessThanOrEqual(100 + setup.refillSlack(1000, 1000));
    expect(other.admitted && other.levels[1]).toBeGreaterThanOrEqual(100);
  });

  it('denies a request larger than the bucket itself with no retry time', async () => {
    const engine = setup.engine();
    const plan = planFor(quotasConfig({ limits: { key: {}, app: {}, team: {}, org: { '*': { tpm: 100 } } } }), freshTenant());
    const outcome = await engine.reserve(plan, { tokens: 101, nanoUsd: 0 });
    expect(outcome).toMatchObject({ admitted: false, kind: 'rate', retryMs: -1 });
  });

  it('counts requests per minute whatever they cost, and settling does not give a request back', async () => {
    const engine = setup.engine();
    const plan = planFor(quotasConfig({ limits: { key: {}, app: { '*': { rpm: 3 } }, team: {}, org: {} } }), freshTenant());
    for (let i = 0; i < 3; i += 1) {
      expect((await engine.reserve(plan, { tokens: 1000, nanoUsd: 0 })).admitted).toBe(true);
      await engine.settle(plan, { tokens: 1000, nanoUsd: 0 }, { tokens: 0, nanoUsd: 0 });
    }
    expect(await engine.reserve(plan, { tokens: 1, nanoUsd: 0 })).toMatchObject({ admitted: false, kind: 'rate', bucket: 0 });
  });

  it('settling refunds unused tokens and charges tokens used beyond the reservation', async () => {
    const engine = setup.engine();
    const plan = planFor(quotasConfig({ limits: { key: {}, app: {}, team: { '*': { tpm: 1000 } }, org: {} } }), freshTenant());
    const started = Date.now();
    await engine.reserve(plan, { tokens: 500, nanoUsd: 0 });
    await engine.settle(plan, { tokens: 500, nanoUsd: 0 }, { tokens: 200, nanoUsd: 0 });
    // 1000 - 200 used = 800 left; this reservation of 100 leaves 700.
    let outcome = await engine.reserve(plan, { tokens: 100, nanoUsd: 0 });
    let slack = setup.refillSlack(1000, Date.now() - started);
    expect(outcome.admitted && outcome.levels[0]).toBeGreaterThanOrEqual(700);
    expect(outcome.admitted && outcome.levels[0]).toBeLessThanOrEqual(700 + slack);
    // The provider used 400 where 100 were reserved: 300 more are taken.
    await engine.settle(plan, { tokens: 100, nanoUsd: 0 }, { tokens: 400, nanoUsd: 0 });
    outcome = await engine.reserve(plan, { tokens: 1, nanoUsd: 0 });
    slack = setup.refillSlack(1000, Date.now() - started);
    expect(outcome.admitted && outcome.levels[0]).toBeGreaterThanOrEqual(399);
    expect(outcome.admitted && outcome.levels[0]).toBeLessThanOrEqual(399 + slack);
  });

  it('reserves budget spend, denies what would exceed the cap, and settles the real cost', async () => {
    const engine = setup.engine();
    const plan = planFor(quotasConfig({ budgets: { team: { '*': { daily_usd: 1 } }, app: {}, user: {}, feature: {} } }), freshTenant());
    expect(plan.budgets.map((b) => b.period)).toEqual(['daily']);
    expect((await engine.reserve(plan, { tokens: 10, nanoUsd: 0.6 * NANO })).admitted).toBe(true);
    expect(await engine.reserve(plan, { tokens: 10, nanoUsd: 0.5 * NANO })).toMatchObject({ admitted: false, kind: 'budget', budget: 0, usedNanoUsd: 0.6 * NANO });
    await engine.settle(plan, { tokens: 10, nanoUsd: 0.6 * NANO }, { tokens: 10, nanoUsd: 0.3 * NANO });
    expect((await engine.reserve(plan, { tokens: 10, nanoUsd: 0.5 * NANO })).admitted).toBe(true);
    expect(await engine.reserve(plan, { tokens: 10, nanoUsd: 0.3 * NANO })).toMatchObject({ admitted: false, kind: 'budget', usedNanoUsd: 0.8 * NANO });
  });

  it('reports each budget threshold once per period, even to several replicas', async () => {
    const [a, b] = [setup.engine(), setup.engine()];
    const plan = planFor(
      quotasConfig({ budgets: { team: {}, app: {}, user: { '*': { daily_usd: 1, monthly_usd: 10 } }, feature: {} } }),
      freshTenant({ user: 'alice@example.com {weird}:id' }),
    );
    expect(plan.budgets.map((x) => `${x.scope}:${x.period}`)).toEqual(['user:daily', 'user:monthly']);
    const spend = async (engine: QuotaEngine, usd: number) => {
      const nanoUsd = Math.round(usd * NANO);
      await engine.reserve(plan, { tokens: 1, nanoUsd });
      return (await engine.settle(plan, { tokens: 1, nanoUsd }, { tokens: 1, nanoUsd })).map((c) => `${c.budget}:${c.percent}`);
    };
    expect(await spend(a, 0.4)).toEqual([]);
    expect(await spend(b, 0.2)).toEqual(['0:50']);
    expect(await spend(a, 0.1)).toEqual([]);
    expect(await spend(b, 0.3)).toEqual(['0:80', '0:100']);
    expect(await spend(a, 0)).toEqual([]);
    const crossed = await b.settle(plan, { tokens: 0, nanoUsd: 0 }, { tokens: 0, nanoUsd: 4 * NANO });
    expect(crossed).toEqual([{ budget: 1, percent: 50, settledNanoUsd: 5 * NANO }]);
  });

  it('never admits more tokens than the bucket holds under concurrent reservations', async () => {
    const engines = [setup.engine(), setup.engine()];
    const plan = planFor(quotasConfig({ limits: { key: {}, app: {}, team: {}, org: { '*': { tpm: 1000 } } } }), freshTenant());
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => (engines[i % 2] as QuotaEngine).reserve(plan, { tokens: 37, nanoUsd: 0 })));
    const admitted = outcomes.filter((o) => o.admitted).length;
    expect(admitted * 37).toBeLessThanOrEqual(1000 + setup.refillSlack(1000, Date.now() - started));
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(1000 / 37));
    for (const outcome of outcomes) if (!outcome.admitted) expect(outcome).toMatchObject({ kind: 'rate' });
  });
}
