import type { Logger } from 'pino';
import type { ConfigHolder } from '../config/config-holder.ts';
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
import { RedisQuotaEngine } from './redis-engine.ts';

export interface Quota {
  /** Before the route stage. */
  reserve: Stage;
  /** After the route (and cache) stages, before the ledger stage. */
  settle: Stage;
  alerts: BudgetAlerts;
}

/**
 * Wires quotas from the config: Lua scripts on the store's Redis client (shared by every replica), or the
 * in-process engine with the memory store; the price table; budget alerts.
 */
export async function createQuota(deps: {
  config: ConfigHolder;
  store: Store;
  metrics: GatewayMetrics;
  logger: Logger;
  env: NodeJS.ProcessEnv;
}): Promise<Quota> {
  const initial = deps.config.catalog().config.quotas;
  const prices = PriceTable.load(initial.pricing_file ?? DEFAULT_PRICING_PATH);
  let engine: QuotaEngine;
  if (deps.store instanceof RedisStore) {
    const redis = new RedisQuotaEngine(deps.store.client);
    // Redis may be down at start: requests then send the scripts themselves once it is back.
    await redis.load().catch((error: unknown) => deps.logger.warn({ err: error }, 'quota scripts not preloaded'));
    engine = redis;
  } else {
    engine = new MemoryQuotaEngine();
  }
  const metrics = new QuotaMetrics(deps.metrics.registry);
  const alerts = new BudgetAlerts({
    webhookUrl: () => {
      const { webhook_url: url, webhook_url_env: urlEnv } = deps.config.catalog().config.quotas.alerts;
      return url ?? (urlEnv ? deps.env[urlEnv] ?? null : null);
    },
    metrics,
    logger: deps.logger,
  });
  const { reserve, settle } = quotaStages({ config: deps.config, engine, prices, alerts, metrics, logger: deps.logger });
  return { reserve, settle, alerts };
}
