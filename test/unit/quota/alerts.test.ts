import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetAlerts, type BudgetAlert } from '../../../src/quota/alerts.ts';
import type { BudgetSpec } from '../../../src/quota/engine.ts';
import { QuotaMetrics } from '../../../src/quota/metrics.ts';

const budget: BudgetSpec = {
  key: '{tg:acme}:budget:team:acme%2Fplatform:2025-01-15', alertKeys: [], scope: 'team', scopeId: 'acme/platform',
  period: 'daily', periodLabel: '2025-01-15', periodEndsAt: Date.UTC(2025, 0, 16), capNanoUsd: 10_000_000_000, ttlMs: 1,
};

/** A webhook receiver answering the given statuses in turn (then 200). */
async function receiver(statuses: number[]): Promise<{ url: string; received: BudgetAlert[]; server: Server }> {
  const received: BudgetAlert[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push(JSON.parse(body) as BudgetAlert);
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/budget?token=secret`, received, server };
}

describe('BudgetAlerts', () => {
  let server: Server | null = null;
  afterEach(() => server?.close());

  const setup = (url: string | null) => {
    const registry = new Registry();
    const metrics = new QuotaMetrics(registry);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const alerts = new BudgetAlerts({ webhookUrl: () => url, metrics, logger, baseDelayMs: 10 });
    return { alerts, registry, lines };
  };

  it('posts the alert as JSON, retrying 5xx answers with backoff, and counts and logs it', async () => {
    const hook = await receiver([503, 500]);
    server = hook.server;
    const { alerts, registry, lines } = setup(hook.url);
    alerts.fire(budget, 80, 8_000_000_001, Date.UTC(2025, 0, 15, 9));
    await alerts.idle();
    expect(hook.received).toHaveLength(3);
    expect(hook.received[2]).toEqual({
      type: 'budget.threshold_crossed', scope: 'team', scope_id: 'acme/platform', period: 'daily', period_label: '2025-01-15',
      threshold_percent: 80, spent_usd: '8.000000001', budget_usd: '10', at: '2025-01-15T09:00:00.000Z',
    });
    expect(await registry.getSingleMetricAsString('tollgate_budget_alerts_total')).toContain('tollgate_budget_alerts_total{scope="team",period="daily",threshold="80"} 1');
    expect(lines.some((line) => line.msg === 'budget threshold crossed')).toBe(true);
    expect(await registry.getSingleMetricAsString('tollgate_budget_alert_webhook_failures_total')).toContain(' 0');
  });

  it('gives up at once on a 4xx rejection and logs the webhook origin only', async () => {
    const hook = await receiver([400]);
    server = hook.server;
    const { alerts, registry, lines } = setup(hook.url);
    alerts.fire(budget, 100, 10_000_000_000, Date.now());
    await alerts.idle();
    expect(hook.received).toHaveLength(1);
    expect(await registry.getSingleMetricAsString('tollgate_budget_alert_webhook_failures_total')).toContain(' 1');
    const failure = lines.find((line) => line.msg === 'budget alert webhook failed');
    expect(failure?.webhook).toBe(new URL(hook.url).origin);
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('retries an unreachable receiver, then counts the failure', async () => {
    const hook = await receiver([]);
    await new Promise<void>((resolve) => hook.server.close(() => resolve()));
    const { alerts, registry } = setup(hook.url);
    alerts.fire(budget, 50, 5_000_000_000, Date.now());
    await alerts.idle();
    expect(await registry.getSingleMetricAsString('tollgate_budget_alert_webhook_failures_total')).toContain(' 1');
  });

  it('without a webhook still counts and logs', async () => {
    const { alerts, registry } = setup(null);
    alerts.fire(budget, 50, 5_000_000_000, Date.now());
    await alerts.idle();
    expect(await registry.getSingleMetricAsString('tollgate_budget_alerts_total')).toContain('threshold="50"} 1');
  });
});
