import type { Logger } from 'pino';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { UsageRecord } from '../ledger/usage-record.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Stage } from '../pipeline/stage.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../pricing/price-table.ts';
import { quotaStages } from '../stages/quota.ts';
import { RedisStore } from '../store/redis-store.ts';
import type { Store } from '../store/store.ts';
import { BudgetAlerts } from './alerts.ts';
import type { QuotaEngine } from './engine.ts';
import { MemoryQuotaEngine } from './memory-engine.ts';
import { QuotaMetrics } from './metrics.ts';
import { BudgetRebuild } from './rebuild.ts';
import { RedisQuotaEngine } from './redis-engine.ts';
import { LeasingQuotaEngine } from './leasing-engine.ts';
import { isEmptyPlan, quotaPlan, reservationKey } from './plan.ts';

export interface Quota {
  /** Before the route stage. */
  reserve: Stage;
  /** After the route (and cache) stages, before the ledger stage. */
  settle: Stage;
  alerts: BudgetAlerts;
  /** Rebuilds budget counters from the ledger (Redis store with a ledger only; POST /admin/v1/quotas/rebuild). */
  rebuild: BudgetRebuild | null;
  /**
   * Releases the reservations of requests the ledger closed as orphaned (their process died before settling), from
   * their reservation records in Redis; the wiring calls it with what the ledger's reconciler closed.
   */
  releaseOrphans(records: UsageRecord[]): Promise<void>;
  /** Counts the spend settled against leases and gives the leases back (shutdown, before the store closes). */
  close(): Promise<void>;
}

/**
 * Wires quotas from the config: Lua scripts on the store's Redis client (shared by every replica), or the
 * in-process engine with the memory store; the price table; budget alerts. With Redis and a ledger, the ledger's
 * entries ride in the scripts' round trips, and lost budget counters are rebuilt from the ledger.
 */
export async function createQuota(deps: {
  config: ConfigHolder;
  store: Store;
  metrics: GatewayMetrics;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  ledger?: Ledger | null;
}): Promise<Quota> {
  const initial = deps.config.catalog().config.quotas;
  const prices = PriceTable.load(initial.pricing_file ?? DEFAULT_PRICING_PATH);
  let engine: QuotaEngine;
  let alerts: BudgetAlerts;
  let rebuild: BudgetRebuild | null = null;
  if (deps.store instanceof RedisStore) {
    const client = deps.store.client;
    const redis = new RedisQuotaEngine(client, { gateBudgets: Boolean(deps.ledger) });
    // Redis may be down at start: requests then send the scripts themselves once it is back.
    await redis.load().catch((error: unknown) => deps.logger.warn({ err: error }, 'quota scripts not preloaded'));
    let lastLeaseWarning = 0;
    engine = new LeasingQuotaEngine(redis, {
      config: () => deps.config.catalog().config.quotas.leases,
      onCrossed: (plan, crossed) => {
        for (const { budget, percent, settledNanoUsd } of crossed) {
          const spec = plan.budgets[budget];
          if (spec) alerts.fire(spec, percent, settledNanoUsd, Date.now());
        }
      },
      onError: (error) => {
        // Retried every sweep (100 ms) while Redis is down: one line per 10 s is enough.
        if (Date.now() - lastLeaseWarning < 10_000) return;
        lastLeaseWarning = Date.now();
        deps.logger.warn({ err: error }, 'quota leases: store unavailable (retrying)');
      },
    });
    if (deps.ledger) {
      rebuild = new BudgetRebuild({ client, engine: redis, ledger: deps.ledger, config: deps.config, logger: deps.logger });
      // In the background: a store that is down now is noticed by the first reservation instead.
      void rebuild.checkAtStart().catch((error: unknown) => deps.logger.warn({ err: error }, 'budget counters not checked at start'));
    }
  } else {
    engine = new MemoryQuotaEngine();
  }
  const metrics = new QuotaMetrics(deps.metrics.registry);
  // Declared before the engine that alerts through it is used (the first request comes after this function).
  alerts = new BudgetAlerts({
    webhookUrl: () => {
      const { webhook_url: url, webhook_url_env: urlEnv } = deps.config.catalog().config.quotas.alerts;
      return url ?? (urlEnv ? deps.env[urlEnv] ?? null : null);
    },
    metrics,
    logger: deps.logger,
  });
  const { reserve, settle } = quotaStages({
    config: deps.config, engine, prices, alerts, metrics, logger: deps.logger, entries: deps.ledger?.entries ?? null, rebuild,
  });
  const releaseOrphans = async (records: UsageRecord[]): Promise<void> => {
    if (!engine.releaseOrphan) return;
    const config = deps.config.catalog().config.quotas;
    for (const record of records) {
      if (record.state !== 'orphaned') continue;
      const tenant = { org: record.org, team: record.team, app: record.app, user: record.user, feature: record.feature, keyId: record.keyId };
      const plan = quotaPlan(config, tenant, record.startedAt);
      if (isEmptyPlan(plan)) continue;
      plan.reservationKey = reservationKey(record.org, record.requestId);
      await engine.releaseOrphan(plan);
    }
  };
  const close = async (): Promise<void> => {
    if (engine instanceof LeasingQuotaEngine) await engine.close().catch((error: unknown) => deps.logger.warn({ err: error }, 'quota leases not given back'));
  };
  return { reserve, settle, alerts, rebuild, releaseOrphans, close };
}
