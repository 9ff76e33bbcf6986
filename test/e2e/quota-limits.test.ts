import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costNanoUsd } from '../../src/pricing/cost.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../../src/pricing/price-table.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

interface ChatBody {
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details?: { cached_tokens?: number } };
  error?: { message: string; type: string; code: string; param: unknown };
}

const TPM = 3000;
const TEAM_BUDGET_KEY_PREFIX = '{tg:acme}:budget:team:acme%2Fplatform:';

/**
 * Real Envoy + Tollgate + Redis: 500 requests at once against a tokens-per-minute limit. Reservations are made
 * before the provider is called, so admitted tokens never exceed the limit (plus what the bucket refilled while
 * the burst ran), and the metered cost is exactly what the provider's usage is worth.
 */
describe('quotas under a concurrent burst', () => {
  const redis = useRedisServer();
  let h: Harness;
  let store: RedisStore;
  beforeAll(async () => {
    store = new RedisStore({ url: redis.url });
    const config = testConfig();
    config.quotas = {
      default_max_tokens: 16,
      limits: { team: { 'acme/platform': { tpm: TPM } } },
      budgets: { team: { 'acme/platform': { daily_usd: 100 } } },
    };
    h = await startHarness({ config, store });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await store?.close();
  });

  it('admits no more tokens than the limit, rejects the rest with clean 429s, and meters the exact cost', async () => {
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 500 }, async (_, i) => {
      const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Count the tokens of request number ${i} please` }],
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as ChatBody };
    }));
    const elapsedMs = Date.now() - started;

    const admitted = responses.filter((r) => r.status === 200);
    const rejected = responses.filter((r) => r.status !== 200);
    expect(admitted.length).toBeGreaterThan(50);
    expect(rejected.length).toBeGreaterThan(100);
    const admittedTokens = admitted.reduce((sum, r) => sum + (r.body.usage?.total_tokens ?? 0), 0);
    // A token bucket refills continuously: over the burst it may admit what it refilled meanwhile, never more.
    expect(admittedTokens).toBeLessThanOrEqual(TPM + Math.ceil((TPM * elapsedMs) / 60_000));

    for (const r of admitted) {
      expect(r.headers.get('x-ratelimit-limit-tokens')).toBe(String(TPM));
      expect(Number(r.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThanOrEqual(0);
      expect(r.headers.get('x-ratelimit-reset-tokens')).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m[\d.]+s$/);
    }
    for (const r of rejected) {
      expect(r.status).toBe(429);
      expect(r.body.error).toEqual({ message: expect.stringContaining('tokens per min (TPM)'), type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('x-ratelimit-limit-tokens')).toBe(String(TPM));
      expect(r.headers.get('x-ratelimit-remaining-tokens')).not.toBeNull();
      expect(r.headers.get('x-ratelimit-reset-tokens')).not.toBeNull();
      expect(r.headers.get('content-type')).toContain('application/json');
    }

    // Every settlement adds the exact nano-USD cost of the provider's reported usage to the team's budget.
    const entry = PriceTable.load(DEFAULT_PRICING_PATH).lookup({ provider: 'openai', vendor: 'openai', model: 'gpt-4o-mini' }, Date.now());
    if (!entry) throw new Error('gpt-4o-mini is not priced');
    const expected = admitted.reduce((sum, r) => {
      const u = r.body.usage;
      if (!u) throw new Error('a 200 without usage');
      return sum + costNanoUsd({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens, cachedPromptTokens: u.prompt_tokens_details?.cached_tokens ?? 0 }, entry);
    }, 0n);
    const budgetKey = `${TEAM_BUDGET_KEY_PREFIX}${new Date().toISOString().slice(0, 10)}`;
    let settled = 0n;
    for (let i = 0; i < 50 && settled !== expected; i += 1) {
      settled = BigInt((await redis.admin.hget(budgetKey, 's')) ?? '0');
      if (settled !== expected) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(settled).toBe(expected);
    // Nothing stays reserved once every request has settled: at once for exact reservations, within the lease
    // period (quotas.leases.lease_ms, 1 s) for what a busy process's lease still held.
    let used = 0n;
    for (let i = 0; i < 50 && used !== expected; i += 1) {
      used = BigInt((await redis.admin.hget(budgetKey, 'u')) ?? '0');
      if (used !== expected) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(used).toBe(expected);
  }, 60_000);
});
