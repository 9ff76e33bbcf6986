import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type UsageRecord } from '../../../src/ledger/usage-record.ts';
import { usageRecord } from './records.ts';

describe('usage record queue encoding', () => {
  it('round-trips a final record with every field set, and one whose fields hold their defaults', () => {
    const full = usageRecord({
      user: 'u-1', feature: 'search', variant: 'b', traceId: 'a'.repeat(32), stream: true, cachedPromptTokens: 3, cacheWriteTokens: 1,
      errorCode: 'none', cacheStatus: 'hit', savedNanoUsd: 1234n,
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 500 }, { provider: 'azure', model: 'gpt-4o-mini', status: 200, escalated: 'refusal', prompt_tokens: 4, completion_tokens: 2 }],
    });
    expect(decodeRecord(encodeRecord(full))).toEqual(full);
    const pending: UsageRecord = {
      ...usageRecord(), state: 'pending', endedAt: null, provider: null, upstreamModel: null, attempts: [], promptTokens: 0,
      completionTokens: 0, reasoningTokens: 0, costNanoUsd: null, pricingId: null, latencyMs: null, status: null, outcome: 'pending', cacheStatus: null,
    };
    expect(decodeRecord(encodeRecord(pending))).toEqual(pending);
    // A zero cost is a price, not "not priced".
    const free = usageRecord({ costNanoUsd: 0n });
    expect(decodeRecord(encodeRecord(free)).costNanoUsd).toBe(0n);
  });

  it('leaves default-valued fields out of the entry', () => {
    const pending = usageRecord({ state: 'pending', endedAt: null, provider: null, upstreamModel: null, attempts: [], promptTokens: 0, completionTokens: 0, reasoningTokens: 0, costNanoUsd: null, pricingId: null, latencyMs: null, status: null, outcome: 'pending', cacheStatus: null });
    const text = encodeRecord(pending);
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(['app', 'endpoint', 'keyId', 'model', 'org', 'outcome', 'requestId', 'startedAt', 'state', 'team']);
  });

  it('reads entries queued before the compact encoding (every field present) and older ones without the newer fields', () => {
    const record = usageRecord();
    const legacy = JSON.stringify({ ...record, costNanoUsd: record.costNanoUsd?.toString() ?? null });
    expect(decodeRecord(legacy)).toEqual(record);
    const { variant: _variant, traceId: _traceId, reasoningTokens: _reasoning, ...older } = JSON.parse(legacy) as Record<string, unknown>;
    expect(decodeRecord(JSON.stringify(older))).toEqual({ ...record, variant: null, traceId: null, reasoningTokens: 0 });
    expect(() => decodeRecord('{"state":"final"}')).toThrow(/not a usage record/);
  });
});
