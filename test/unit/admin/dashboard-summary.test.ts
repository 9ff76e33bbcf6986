import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { bucketFor, dashboardSummary } from '../../../src/admin/dashboard-summary.ts';
import { summarizeHistogram } from '../../../src/admin/histogram-summary.ts';
import type { UsageGroup, UsageQuery } from '../../../src/ledger/sink.ts';
import type { QuotasConfig } from '../../../src/quota/config.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function group(key: UsageGroup['key'], costNanoUsd: bigint, extra: Partial<UsageGroup> = {}): UsageGroup {
  return {
    key, requests: 1, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, costNanoUsd, savedNanoUsd: 0n, errors: 0,
    feedbackSum: 0, feedbackCount: 0, latencyMsSum: 0, latencyCount: 0, ...extra,
  };
}

describe('dashboard summary', () => {
  it('buckets by hour up to two days, by day up to two months, then by days for about a hundred points', () => {
    expect(bucketFor(0, 2 * DAY)).toBe(HOUR);
    expect(bucketFor(0, 30 * DAY)).toBe(DAY);
    expect(bucketFor(0, 365 * DAY)).toBe(4 * DAY);
  });

  it('projects a budget linearly to the end of its period and lists named budgets before their first request', async () => {
    // 10 days into a 31-day month (2026-12-11T00:00Z), 4 USD spent by research: 12.40 projected of 20.
    const now = Date.UTC(2026, 11, 11);
    const quotas = { budgets: { team: { 'acme/research': { monthly_usd: 20 }, 'acme/idle': { monthly_usd: 5 } }, app: {}, user: {}, feature: {} } } as unknown as QuotasConfig;
    const queries: UsageQuery[] = [];
    const ledger = {
      aggregate: async (query: UsageQuery) => {
        queries.push(query);
        if (query.groupBy === 'team' && query.from === Date.UTC(2026, 11, 1)) {
          return [group({ org: 'acme', team: 'research' }, 3_000_000_000n, { bucket: Date.UTC(2026, 11, 2) }), group({ org: 'acme', team: 'research' }, 1_000_000_000n, { bucket: Date.UTC(2026, 11, 10) })];
        }
        return [];
      },
    };
    const summary = await dashboardSummary(
      { ledger, quotas: () => quotas, killSwitches: { list: async () => [] }, now: () => now },
      { from: now - 7 * DAY, to: now, groupBy: 'team', where: {} },
    );
    expect(summary.budgets).toEqual([
      expect.objectContaining({ id: 'acme/research', period: 'monthly', spent_usd: '4.000000000', percent: 20, projected_usd: 12.4, projected_percent: 62 }),
      expect.objectContaining({ id: 'acme/idle', period: 'monthly', spent_usd: '0.000000000', percent: 0 }),
    ]);
    // One budget scan for the team scope, by day from the start of the month (the day's spend is its last bucket).
    expect(queries.filter((q) => q.from === Date.UTC(2026, 11, 1))).toEqual([expect.objectContaining({ groupBy: 'team', bucketMs: DAY, to: now + 1 })]);
  });

  it('keeps the biggest spenders as series and sums the rest as "other"', async () => {
    const from = Date.UTC(2026, 11, 1);
    const rows = Array.from({ length: 10 }, (_, i) => group({ org: 'acme', team: `t${i}` }, BigInt((i + 1) * 1e9), { bucket: from }));
    const ledger = { aggregate: async (query: UsageQuery) => (query.bucketMs ? rows : []) };
    const summary = await dashboardSummary(
      { ledger, quotas: () => ({ budgets: { team: {}, app: {}, user: {}, feature: {} } }) as unknown as QuotasConfig, killSwitches: { list: async () => [] }, now: () => from + DAY },
      { from, to: from + DAY, groupBy: 'team', where: {} },
    );
    expect(summary.series.groups.map((g) => g.label)).toEqual(['acme/t9', 'acme/t8', 'acme/t7', 'acme/t6', 'acme/t5', 'acme/t4', 'acme/t3', 'acme/t2', 'other']);
    expect(summary.series.groups.at(-1)?.cost_usd[0]).toBe(3); // t0 + t1
    expect(summary.totals.cost_usd).toBe('55.000000000');
  });

  it("shows what the cache saved in the range from the ledger's records, not from this process's metrics", async () => {
    const from = Date.UTC(2026, 11, 1);
    const overview = [
      group({ cache_status: 'hit', error_code: null }, 0n, { requests: 3, savedNanoUsd: 1_500_000_000n }),
      group({ cache_status: 'hit', error_code: 'x' }, 0n, { requests: 1, savedNanoUsd: 250_000_000n }),
      group({ cache_status: 'miss', error_code: null }, 9n, { requests: 4 }),
    ];
    const ledger = { aggregate: async (query: UsageQuery) => (Array.isArray(query.groupBy) && query.groupBy.includes('cache_status') ? overview : []) };
    const summary = await dashboardSummary(
      { ledger, quotas: () => ({ budgets: { team: {}, app: {}, user: {}, feature: {} } }) as unknown as QuotasConfig, killSwitches: { list: async () => [] }, now: () => from + DAY },
      { from, to: from + DAY, groupBy: 'team', where: {} },
    );
    expect(summary.cache).toEqual({ by_status: { hit: 4, miss: 4 }, hits: 4, hit_rate: 0.5, saved_usd: '1.750000000' });
  });

  it('counts the reasons of the policy denials in the range from the audit log, narrowed like the rest', async () => {
    const from = Date.UTC(2026, 11, 1);
    const denial = (time: number, team: string, reasons: string[]) => ({ time: new Date(time).toISOString(), tenant: { org: 'acme', team, app: 'a', user: null, feature: null }, model: 'gpt-4o', reasons });
    const asked: unknown[] = [];
    const audit = {
      query: async (query: unknown) => {
        asked.push(query);
        return {
          has_more: false, next_cursor: null,
          data: [
            denial(from + HOUR, 'hr', ['PII may not go to anthropic']), denial(from + 2 * HOUR, 'hr', ['PII may not go to anthropic', 'EU only']),
            denial(from + 3 * HOUR, 'hr', []), denial(from + 2 * DAY, 'hr', ['after the range']),
          ],
        };
      },
    };
    const summary = await dashboardSummary(
      {
        ledger: { aggregate: async () => [] }, audit: audit as never, killSwitches: { list: async () => [] }, now: () => from + DAY,
        quotas: () => ({ budgets: { team: {}, app: {}, user: {}, feature: {} } }) as unknown as QuotasConfig,
      },
      { from, to: from + DAY, groupBy: 'team', where: { team: 'hr' } },
    );
    expect(asked).toEqual([expect.objectContaining({ decision: 'deny', team: 'hr', since: new Date(from).toISOString() })]);
    expect(summary.denials).toEqual({
      sampled: 3, truncated: false,
      reasons: [{ reason: 'PII may not go to anthropic', count: 2 }, { reason: 'EU only', count: 1 }, { reason: '(no reason given)', count: 1 }],
    });
  });

  it('estimates quantiles from histogram buckets per label, summed over the other labels', async () => {
    const registry = new Registry();
    const histogram = new Histogram({ name: 'x_seconds', help: 'x', labelNames: ['provider', 'model'], buckets: [0.1, 0.2, 0.4], registers: [registry] });
    for (let i = 0; i < 50; i++) histogram.observe({ provider: 'openai', model: 'a' }, 0.05);
    for (let i = 0; i < 50; i++) histogram.observe({ provider: 'openai', model: 'b' }, 0.15);
    const summary = (await summarizeHistogram(histogram, 'provider')).get('openai');
    expect(summary).toMatchObject({ count: 100, mean_ms: 100, p50_ms: 100, p95_ms: 190 });
  });
});
