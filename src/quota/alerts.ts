import type { Logger } from 'pino';
import { formatUsd } from '../pricing/cost.ts';
import type { BudgetSpec } from './engine.ts';
import type { QuotaMetrics } from './metrics.ts';

/** The webhook's JSON body. Amounts are decimal USD strings, exact to the nano-dollar. */
export interface BudgetAlert {
  type: 'budget.threshold_crossed';
  scope: BudgetSpec['scope'];
  scope_id: string;
  period: BudgetSpec['period'];
  /** `2025-01-31` (daily) or `2025-01` (monthly), UTC. */
  period_label: string;
  threshold_percent: number;
  spent_usd: string;
  budget_usd: string;
  at: string;
}

export interface AlertDeps {
  /** Read per alert, so a config reload applies. Null: metric and log line only. */
  webhookUrl: () => string | null;
  metrics: QuotaMetrics;
  logger: Logger;
  /** Delivery attempts per alert (default 5), spaced by exponential backoff from `baseDelayMs` (default 500). */
  attempts?: number;
  baseDelayMs?: number;
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Budget alerts: a metric, a log line and a webhook POST, retried with backoff on network errors, 429 and 5xx.
 * Which replica alerts is decided by the settle script (one claim per period, scope and threshold); this only
 * delivers. Deliveries run in the background; `idle()` waits for them (shutdown, tests).
 */
export class BudgetAlerts {
  readonly #deps: AlertDeps;
  readonly #pending = new Set<Promise<void>>();

  constructor(deps: AlertDeps) {
    this.#deps = deps;
  }

  fire(budget: BudgetSpec, percent: number, settledNanoUsd: number, now: number): void {
    const alert: BudgetAlert = {
      type: 'budget.threshold_crossed',
      scope: budget.scope,
      scope_id: budget.scopeId,
      period: budget.period,
      period_label: budget.periodLabel,
      threshold_percent: percent,
      spent_usd: formatUsd(BigInt(settledNanoUsd)),
      budget_usd: formatUsd(BigInt(budget.capNanoUsd)),
      at: new Date(now).toISOString(),
    };
    this.#deps.metrics.alerts.inc({ scope: alert.scope, period: alert.period, threshold: String(percent) });
    this.#deps.logger.warn({ alert }, 'budget threshold crossed');
    const url = this.#deps.webhookUrl();
    if (!url) return;
    const delivery = this.#deliver(url, alert).finally(() => this.#pending.delete(delivery));
    this.#pending.add(delivery);
  }

  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  async #deliver(url: string, alert: BudgetAlert): Promise<void> {
    const { attempts = 5, baseDelayMs = 500, timeoutMs = 5000 } = this.#deps;
    const body = JSON.stringify(alert);
    let lastProblem = '';
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'tollgate-budget-alerts' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        if (response.ok) return;
        lastProblem = `HTTP ${response.status}`;
        // Other 4xx mean the receiver rejects this alert: retrying would get the same answer.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      if (attempt < attempts) await sleep(baseDelayMs * 2 ** (attempt - 1));
    }
    this.#deps.metrics.webhookFailures.inc();
    // The URL may carry a token: log its origin only.
    this.#deps.logger.error({ webhook: new URL(url).origin, problem: lastProblem, alert }, 'budget alert webhook failed');
  }
}
