import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigHolder } from '../../../src/config/config-holder.ts';
import { validateConfig } from '../../../src/config/load-config.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { UpstreamEdits, type RequestContext } from '../../../src/pipeline/context.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../../../src/pricing/price-table.ts';
import { BudgetAlerts } from '../../../src/quota/alerts.ts';
import { MemoryQuotaEngine } from '../../../src/quota/memory-engine.ts';
import { QuotaMetrics } from '../../../src/quota/metrics.ts';
import { quotaStages } from '../../../src/stages/quota.ts';

const NOW = Date.UTC(2025, 0, 15, 12);

function setup(quotas: Record<string, unknown>) {
  const config = new ConfigHolder(validateConfig({
    logging: { level: 'silent' },
    providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:1/v1' } },
    models: { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' } },
    orgs: { acme: { teams: { platform: { apps: { playground: {} } } } } },
    quotas,
  }));
  const logger = pino({ level: 'silent' });
  const metrics = new QuotaMetrics(new Registry());
  const stages = quotaStages({
    config, engine: new MemoryQuotaEngine({ now: () => NOW }), prices: PriceTable.load(DEFAULT_PRICING_PATH),
    alerts: new BudgetAlerts({ webhookUrl: () => null, metrics, logger }), metrics, logger, now: () => NOW,
  });
  // Only the fields the quota stages read; the context has more, owned by other stages.
  const context = (body: Record<string, unknown>): RequestContext => ({
    requestId: 'r1', startedAt: NOW, now: () => NOW, method: 'POST', path: '/v1/chat/completions', requestHeaders: new Map(), sourceAddress: null, verifiedJwt: null,
    log: logger, endpoint: 'chat', tenant: { org: 'acme', team: 'platform', app: 'playground', user: null, feature: null, keyId: 'k1' },
    body, model: 'gpt-4o-mini', provider: null, upstreamModel: null,
    routing: { alias: 'gpt-4o-mini', candidates: [{ provider: 'openai', vendor: 'openai', region: null, model: 'gpt-4o-mini' }], excludedProviders: new Set(), allowedRegions: null, reasons: [] },
    attempts: [], attemptCount: null, variant: null, bodyBytes: 0, stream: false, upstream: new UpstreamEdits(), responseHeaders: new Map(),
    response: { status: null, streaming: false, bytes: 0 }, usage: null, cachePolicy: 'default', cacheStatus: null, cacheSavedUsage: null,
    cost: null, error: null, outcome: 'pending',
  }) as Partial<RequestContext> as RequestContext;
  return { stages, context };
}

const messages = [{ role: 'user', content: 'Hello there' }];

describe('quota stages', () => {
  it('enforces a route default max_tokens, reserves it, and sets the rate-limit headers', async () => {
    const { stages, context } = setup({ models: { 'gpt-4o-mini': { default_max_tokens: 50, enforce_max_tokens: true } }, limits: { key: { '*': { tpm: 1000, rpm: 10 } } } });
    const ctx = context({ model: 'gpt-4o-mini', messages });
    expect(await stages.reserve.onRequest?.(ctx)).toBeUndefined();
    expect(ctx.body?.max_tokens).toBe(50);
    expect(ctx.upstream.bodyChanged).toBe(true);
    // "Hello there" (2) + "user" (1) + 3 framing + 3 priming = 9 prompt tokens, + 50.
    expect(Object.fromEntries(ctx.responseHeaders)).toMatchObject({
      'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': String(1000 - 59),
      'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '9',
    });
  });

  it('answers 429 rate_limit_exceeded with Retry-After when the estimate does not fit', async () => {
    const { stages, context } = setup({ limits: { team: { 'acme/platform': { tpm: 100 } } } });
    const result = await stages.reserve.onRequest?.(context({ model: 'gpt-4o-mini', messages, max_tokens: 95 }));
    const error = (result as { respond: GatewayError }).respond;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', headers: { 'retry-after': '60' } });
    expect(error.message).toContain('Request too large for tokens per min (TPM) of team acme/platform');
  });

  it('settles the real usage into ctx.cost and refunds the rest of the reservation', async () => {
    const { stages, context } = setup({ limits: { key: { '*': { tpm: 1000 } } } });
    const ctx = context({ model: 'gpt-4o-mini', messages, max_tokens: 100 });
    await stages.reserve.onRequest?.(ctx);
    ctx.provider = 'openai';
    ctx.response.status = 200;
    ctx.outcome = 'completed';
    ctx.usage = { promptTokens: 40, cachedPromptTokens: 20, completionTokens: 10, totalTokens: 50 };
    await stages.settle.onResponseEnd?.(ctx);
    // 20 × 150 + 20 × 75 + 10 × 600 nano-USD (gpt-4o-mini: 0.15 / 0.075 / 0.60 per 1M).
    expect(ctx.cost).toEqual({ nanoUsd: 10_500n, pricingId: 'openai/gpt-4o-mini@2024-07-18' });
    // 109 were reserved, 50 used: the bucket holds 950, and the next 10-token reservation leaves 940.
    const next = context({ model: 'gpt-4o-mini', messages, max_tokens: 1 });
    await stages.reserve.onRequest?.(next);
    expect(next.responseHeaders.get('x-ratelimit-remaining-tokens')).toBe('940');
    // A provider that used far more than reserved puts the bucket in debt: the next request waits.
    next.provider = 'openai';
    next.response.status = 200;
    next.usage = { promptTokens: 1000, completionTokens: 10, totalTokens: 1010 };
    await stages.settle.onResponseEnd?.(next);
    const third = await stages.reserve.onRequest?.(context({ model: 'gpt-4o-mini', messages, max_tokens: 1 }));
    expect((third as { respond: GatewayError }).respond).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
  });

  it('prices a cache hit at zero and records what it saved', async () => {
    const { stages, context } = setup({});
    const ctx = context({ model: 'gpt-4o-mini', messages });
    await stages.reserve.onRequest?.(ctx);
    ctx.provider = 'openai';
    ctx.cacheStatus = 'hit';
    ctx.cacheSavedUsage = { promptTokens: 100, completionTokens: 100, totalTokens: 200 };
    await stages.settle.onResponseEnd?.(ctx);
    expect(ctx.cost).toEqual({ nanoUsd: 0n, pricingId: 'openai/gpt-4o-mini@2024-07-18', savedNanoUsd: 75_000n });
  });
});
