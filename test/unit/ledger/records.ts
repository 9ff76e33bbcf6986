import type { UsageRecord } from '../../../src/ledger/usage-record.ts';

let sequence = 0;

/** A usage record with realistic defaults; tests override what they look at. */
export function usageRecord(overrides: Partial<UsageRecord> = {}): UsageRecord {
  sequence += 1;
  return {
    requestId: `req-${process.pid}-${Date.now()}-${sequence}`,
    state: 'final',
    startedAt: Date.UTC(2026, 0, 15, 12, 0, 0),
    endedAt: Date.UTC(2026, 0, 15, 12, 0, 1),
    org: 'acme',
    team: 'platform',
    app: 'playground',
    user: null,
    feature: null,
    keyId: 'key-1',
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    variant: null,
    traceId: null,
    provider: 'openai',
    upstreamModel: 'gpt-4o-mini',
    attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200 }],
    stream: false,
    promptTokens: 10,
    completionTokens: 5,
    cachedPromptTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 2,
    costNanoUsd: 4_500n,
    pricingId: 'openai/gpt-4o-mini@2024-07-18',
    latencyMs: 12.5,
    status: 200,
    outcome: 'completed',
    errorCode: null,
    cacheStatus: 'miss',
    ...overrides,
  };
}

export function pendingOf(record: UsageRecord): UsageRecord {
  return {
    ...record, state: 'pending', endedAt: null, provider: null, upstreamModel: null, attempts: [], promptTokens: 0,
    completionTokens: 0, reasoningTokens: 0, costNanoUsd: null, pricingId: null, latencyMs: null, status: null, outcome: 'pending', cacheStatus: null,
  };
}
