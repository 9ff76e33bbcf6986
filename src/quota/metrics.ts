import { Counter, type Registry } from 'prom-client';

/** Prometheus metrics of quotas, budgets and cost, registered on the gateway's registry. */
export class QuotaMetrics {
  readonly rejections: Counter<'scope' | 'limit'>;
  readonly storeFailures: Counter<'phase' | 'mode'>;
  readonly alerts: Counter<'scope' | 'period' | 'threshold'>;
  readonly webhookFailures: Counter;
  readonly costUsd: Counter<'team' | 'app' | 'model' | 'provider'>;
  readonly unpriced: Counter<'provider' | 'model'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rejections = new Counter({
      name: 'tollgate_quota_rejections_total',
      help: 'Requests answered 429 by a quota, by scope and limit (rpm, tpm, daily_usd, monthly_usd).',
      labelNames: ['scope', 'limit'], registers,
    });
    this.storeFailures = new Counter({
      name: 'tollgate_quota_store_failures_total',
      help: 'Quota store calls that failed, by phase (reserve, settle) and on_store_failure mode (open admits, closed answers 503).',
      labelNames: ['phase', 'mode'], registers,
    });
    this.alerts = new Counter({
      name: 'tollgate_budget_alerts_total',
      help: 'Budget threshold alerts fired (once per period, scope and threshold across all replicas).',
      labelNames: ['scope', 'period', 'threshold'], registers,
    });
    this.webhookFailures = new Counter({
      name: 'tollgate_budget_alert_webhook_failures_total',
      help: 'Budget alerts whose webhook could not be delivered after all retries.',
      registers,
    });
    this.costUsd = new Counter({
      name: 'tollgate_cost_usd_total',
      help: 'Metered cost in USD by team, app, model and provider (exact per-request costs are in the usage ledger).',
      labelNames: ['team', 'app', 'model', 'provider'], registers,
    });
    this.unpriced = new Counter({
      name: 'tollgate_unpriced_requests_total',
      help: 'Requests served by a provider/model that config/pricing.yaml has no price for (metered at 0).',
      labelNames: ['provider', 'model'], registers,
    });
  }
}
