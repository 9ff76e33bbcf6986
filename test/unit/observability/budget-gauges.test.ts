import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { UsageGroup } from '../../../src/ledger/sink.ts';
import { registerBudgetGauges } from '../../../src/observability/budget-gauges.ts';
import type { QuotasConfig } from '../../../src/quota/config.ts';

const group = (key: UsageGroup['key'], usd: number): UsageGroup => ({
  key, requests: 1, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, costNanoUsd: BigInt(Math.round(usd * 1e9)),
  savedNanoUsd: 0n, errors: 0, feedbackSum: 0, feedbackCount: 0, latencyMsSum: 0, latencyCount: 0,
});

describe('budget gauges', () => {
  it('shows remaining USD and burn rate per team and app budget, read from the ledger at most once per refresh', async () => {
    // 06:00 UTC on the 3rd: 6 hours into the day, 54 hours into the month.
    let now = Date.UTC(2026, 11, 3, 6, 0, 0);
    const calls: string[] = [];
    const ledger = {
      async spendByScope(scope: string, from: number) {
        calls.push(`${scope}@${new Date(from).toISOString()}`);
        const daily = from === Date.UTC(2026, 11, 3);
        if (scope === 'team') return [group({ org: 'acme', team: 'research' }, daily ? 12 : 108), group({ org: 'acme', team: 'platform' }, 1)];
        return [group({ org: 'acme', team: 'research', app: 'notebook' }, daily ? 3 : 3)];
      },
    };
    const quotas = {
      budgets: { team: { 'acme/research': { daily_usd: 50, monthly_usd: 1000 } }, app: { 'acme/research/notebook': { daily_usd: 2 } }, user: {}, feature: {} },
    } as unknown as QuotasConfig;
    const registry = new Registry();
    registerBudgetGauges({ registry, ledger, quotas: () => quotas, now: () => now, refreshMs: 60_000 });

    const text = await registry.metrics();
    expect(text).toContain('tollgate_budget_remaining_usd{scope="team",id="acme/research",period="daily"} 38');
    expect(text).toContain('tollgate_budget_remaining_usd{scope="team",id="acme/research",period="monthly"} 892');
    expect(text).toContain('tollgate_budget_burn_usd_per_hour{scope="team",id="acme/research",period="daily"} 2');
    expect(text).toContain('tollgate_budget_burn_usd_per_hour{scope="team",id="acme/research",period="monthly"} 2');
    // Overspent: negative remaining. A team without a budget has no series.
    expect(text).toContain('tollgate_budget_remaining_usd{scope="app",id="acme/research/notebook",period="daily"} -1');
    expect(text).not.toContain('acme/platform');
    const reads = calls.length;

    now += 30_000;
    await registry.metrics();
    expect(calls.length).toBe(reads);
    now += 60_000;
    await registry.metrics();
    expect(calls.length).toBeGreaterThan(reads);
  });
});
