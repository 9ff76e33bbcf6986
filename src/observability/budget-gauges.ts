import { Gauge, type Registry } from 'prom-client';
import type { Ledger } from '../ledger/ledger.ts';
import type { QuotasConfig } from '../quota/config.ts';
import { BUDGET_SCOPE_IDS, budgetOf, periods } from '../quota/plan.ts';

/** Budgets shown as gauges: the scopes a platform team watches (user and feature budgets stay in the usage API). */
const SCOPES = ['team', 'app'] as const;

interface Reading {
  labels: { scope: string; id: string; period: string };
  remainingUsd: number;
  burnUsdPerHour: number;
}

/**
 * Budget remaining and burn rate per team and app budget (daily, monthly) as gauges. Read from the usage ledger, so
 * every process shows the same totals; on scrape, and at most once per `refreshMs` (a scrape in between serves the
 * last reading), never per request. Burn rate: the period's spend so far over the hours elapsed in it.
 */
export function registerBudgetGauges(deps: {
  registry: Registry;
  /** Without a ledger the gauges exist (dashboards find them) but have no series. */
  ledger: Pick<Ledger, 'spendByScope'> | null;
  quotas: () => QuotasConfig;
  now: () => number;
  refreshMs?: number;
}): void {
  const refreshMs = deps.refreshMs ?? 60_000;
  let readings: Reading[] = [];
  let readAt = -Infinity;
  let reading: Promise<void> | null = null;

  async function read(ledger: Pick<Ledger, 'spendByScope'>): Promise<void> {
    const now = deps.now();
    const quotas = deps.quotas();
    const next: Reading[] = [];
    for (const period of periods(now)) {
      for (const scope of SCOPES) {
        if (!Object.keys(quotas.budgets[scope] ?? {}).length) continue;
        const groups = await ledger.spendByScope(scope, period.startsAt, period.endsAt);
        for (const group of groups) {
          const id = BUDGET_SCOPE_IDS[scope](group.key);
          const limit = id === null ? undefined : budgetOf(quotas, scope, id)?.[period.field];
          if (id === null || limit === undefined) continue;
          const spentUsd = Number(group.costNanoUsd) / 1e9;
          const hours = Math.max((now - period.startsAt) / 3_600_000, 1 / 60);
          next.push({ labels: { scope, id, period: period.kind }, remainingUsd: limit - spentUsd, burnUsdPerHour: spentUsd / hours });
        }
      }
    }
    readings = next;
    readAt = now;
  }

  async function refresh(): Promise<void> {
    const ledger = deps.ledger;
    if (!ledger || deps.now() - readAt < refreshMs) return;
    reading ??= read(ledger).finally(() => {
      reading = null;
    });
    await reading;
  }

  new Gauge({
    name: 'tollgate_budget_remaining_usd',
    help: 'USD left in a team or app budget this period (daily, monthly), from the usage ledger; negative once overspent.',
    labelNames: ['scope', 'id', 'period'],
    registers: [deps.registry],
    async collect() {
      await refresh();
      this.reset();
      for (const r of readings) this.set(r.labels, r.remainingUsd);
    },
  });
  new Gauge({
    name: 'tollgate_budget_burn_usd_per_hour',
    help: 'Spend of a team or app budget this period divided by the hours elapsed in it (the burn rate).',
    labelNames: ['scope', 'id', 'period'],
    registers: [deps.registry],
    async collect() {
      await refresh();
      this.reset();
      for (const r of readings) this.set(r.labels, r.burnUsdPerHour);
    },
  });
}
