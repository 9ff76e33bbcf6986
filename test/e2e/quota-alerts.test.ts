import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costNanoUsd, formatUsd } from '../../src/pricing/cost.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../../src/pricing/price-table.ts';
import { promptTokens } from '../../src/quota/estimate.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const BODY = { model: 'gpt-4o', messages: [{ role: 'user', content: 'alpha beta gamma delta epsilon zeta eta theta' }] };
// The strict fake counts 3 + one token per word of the prompt, and answers "Echo: <prompt>" (9 words).
const USAGE = { promptTokens: 11, completionTokens: 9, totalTokens: 20 };
const DEFAULT_MAX_TOKENS = 4;

/** Budget alerts through the whole gateway: each threshold fires once (webhook, metric), then the budget denies. */
describe('budget alerts', () => {
  const redis = useRedisServer();
  let h: Harness;
  let store: RedisStore;
  let hooks: Server;
  const received: Array<Record<string, unknown>> = [];
  const entry = PriceTable.load(DEFAULT_PRICING_PATH).lookup({ provider: 'openai', vendor: 'openai', model: 'gpt-4o' }, Date.now());
  if (!entry) throw new Error('gpt-4o is not priced');
  const actual = costNanoUsd(USAGE, entry);
  const estimate = promptTokens('chat', BODY);
  const reserved = costNanoUsd({ promptTokens: estimate, completionTokens: DEFAULT_MAX_TOKENS, totalTokens: estimate + DEFAULT_MAX_TOKENS }, entry);
  // Eight requests spend the budget exactly: 50 % after the 4th, 80 % after the 7th, 100 % after the 8th.
  const cap = actual * 8n;

  beforeAll(async () => {
    hooks = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        // The first delivery fails: the alert must be retried, not lost or duplicated.
        res.writeHead(received.length === 1 ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    store = new RedisStore({ url: redis.url });
    const config = testConfig();
    config.quotas = {
      default_max_tokens: DEFAULT_MAX_TOKENS,
      budgets: { team: { 'acme/platform': { daily_usd: Number(formatUsd(cap)) } } },
      alerts: { thresholds: [50, 80, 100], webhook_url: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/budget` },
    };
    h = await startHarness({ config, store });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await store?.close();
    hooks?.close();
  });

  const chat = () => fetch(`${h.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(BODY),
  });

  it('fires each threshold exactly once, then answers 429 insufficient_quota', async () => {
    // The premise: reservations (estimate + default max_tokens, not enforced) are below the real cost.
    expect(reserved).toBeLessThan(actual);
    const budgetKey = `{tg:acme}:budget:team:acme%2Fplatform:${new Date().toISOString().slice(0, 10)}`;
    for (let i = 1; i <= 8; i += 1) {
      const response = await chat();
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      for (let j = 0; j < 100 && BigInt((await redis.admin.hget(budgetKey, 's')) ?? '0') !== actual * BigInt(i); j += 1) await sleep(20);
    }
    expect(BigInt((await redis.admin.hget(budgetKey, 's')) ?? '0')).toBe(cap);

    const denied = await chat();
    expect(denied.status).toBe(429);
    const retryAfter = Number(denied.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(await denied.json()).toEqual({
      error: { message: expect.stringContaining('daily budget of team acme/platform'), type: 'insufficient_quota', code: 'insufficient_quota', param: null },
    });

    for (let j = 0; j < 100 && received.length < 4; j += 1) await sleep(50);
    await sleep(300);
    // The first (refused) delivery of the 50 % alert was retried after backoff, so it arrives last.
    expect(received[0]?.threshold_percent).toBe(50);
    const delivered = received.slice(1).map((alert) => alert.threshold_percent as number);
    expect(delivered.sort((a, b) => a - b)).toEqual([50, 80, 100]);
    expect(received.find((alert) => alert.threshold_percent === 100)).toMatchObject({ scope: 'team', scope_id: 'acme/platform', period: 'daily', spent_usd: formatUsd(cap), budget_usd: formatUsd(cap) });

    const metrics = await (await fetch(`${h.adminUrl}/metrics`)).text();
    for (const threshold of [50, 80, 100]) {
      expect(metrics).toContain(`tollgate_budget_alerts_total{scope="team",period="daily",threshold="${threshold}"} 1`);
    }
    expect(metrics).toMatch(/tollgate_quota_rejections_total\{scope="team",limit="daily_usd"\} 1/);
  }, 30_000);
});
