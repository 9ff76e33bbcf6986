import { describe, expect, it } from 'vitest';
import { costNanoUsd, formatUsd, usdToNano } from '../../../src/pricing/cost.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../../../src/pricing/price-table.ts';

const at = (date: string) => Date.parse(`${date}T12:00:00Z`);

describe('config/pricing.yaml', () => {
  const table = PriceTable.load(DEFAULT_PRICING_PATH);

  it.each([
    ['openai', 'gpt-4o', 'openai/gpt-4o@2024-10-01'],
    ['openai', 'gpt-4o-mini', 'openai/gpt-4o-mini@2024-07-18'],
    ['openai', 'text-embedding-3-small', 'openai/text-embedding-3-small@2024-01-25'],
    ['anthropic', 'claude-3-5-sonnet', 'anthropic/claude-3-5-sonnet@2024-06-20'],
    ['anthropic', 'claude-3-5-haiku', 'anthropic/claude-3-5-haiku@2024-12-12'],
    ['gemini', 'gemini-1.5-pro', 'gemini/gemini-1.5-pro@2024-10-01'],
    ['gemini', 'gemini-1.5-flash', 'gemini/gemini-1.5-flash@2024-08-12'],
  ])('prices %s %s', (vendor, model, id) => {
    expect(table.lookup({ provider: 'any', vendor, model }, at('2025-06-01'))?.id).toBe(id);
  });

  it('applies the entry in force at the request time (effective dates)', () => {
    const target = { provider: 'openai', vendor: 'openai', model: 'gpt-4o' };
    expect(table.lookup(target, at('2024-09-30'))?.id).toBe('openai/gpt-4o@2024-05-13');
    expect(table.lookup(target, at('2024-10-01'))?.id).toBe('openai/gpt-4o@2024-10-01');
    expect(table.lookup(target, at('2024-01-01'))).toBeNull();
  });

  it('prices dated snapshots and revisions as their base model, but not other models sharing a prefix', () => {
    const lookup = (vendor: string, model: string) => table.lookup({ provider: 'p', vendor, model }, at('2025-06-01'))?.id ?? null;
    expect(lookup('openai', 'gpt-4o-2024-08-06')).toBe('openai/gpt-4o@2024-10-01');
    expect(lookup('anthropic', 'claude-3-5-sonnet-20241022')).toBe('anthropic/claude-3-5-sonnet@2024-06-20');
    expect(lookup('gemini', 'gemini-1.5-pro-002')).toBe('gemini/gemini-1.5-pro@2024-10-01');
    expect(lookup('openai', 'gpt-4o-audio-preview')).toBeNull();
    expect(lookup('openai', 'claude-3-5-sonnet')).toBeNull();
  });
});

describe('price table and costs', () => {
  const table = new PriceTable({
    prices: [
      { vendor: 'openai', model: 'm', effective_from: '2024-01-01', input: 2.5, cached_input: 1.25, output: 10 },
      { provider: 'local-vllm', model: 'm', effective_from: '2024-01-01', input: 0, output: 0 },
      { vendor: 'anthropic', model: 'c', effective_from: '2024-01-01', input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 },
      {
        vendor: 'gemini', model: 'g', effective_from: '2024-01-01', input: 0.075, cached_input: 0.01875, output: 0.3,
        long_context: { above_prompt_tokens: 128000, input: 0.15, output: 0.6 },
      },
    ],
  });
  const price = (provider: string, vendor: string, model: string) => {
    const entry = table.lookup({ provider, vendor, model }, at('2025-01-01'));
    if (!entry) throw new Error('not priced');
    return entry;
  };

  it("prefers a provider's own entry over its vendor's", () => {
    expect(price('local-vllm', 'openai', 'm').id).toBe('local-vllm/m@2024-01-01');
    expect(price('openai', 'openai', 'm').id).toBe('openai/m@2024-01-01');
  });

  it('bills fresh, cached and completion tokens at their own prices, in exact nano-USD', () => {
    // 1000 fresh × 2.5 + 500 cached × 1.25 + 200 × 10 per 1M tokens = 0.0025 + 0.000625 + 0.002 USD.
    const cost = costNanoUsd({ promptTokens: 1500, cachedPromptTokens: 500, completionTokens: 200, totalTokens: 1700 }, price('openai', 'openai', 'm'));
    expect(cost).toBe(5_125_000n);
    expect(formatUsd(cost)).toBe('0.005125');
  });

  it('bills Anthropic cache writes and reads', () => {
    const usage = { promptTokens: 3000, cachedPromptTokens: 1000, cacheWriteTokens: 1000, completionTokens: 100, totalTokens: 3100 };
    // 1000 × 3 + 1000 × 0.3 + 1000 × 3.75 + 100 × 15 = 8550 per 1M → 0.00855 USD.
    expect(costNanoUsd(usage, price('anthropic', 'anthropic', 'c'))).toBe(8_550_000n);
  });

  it('switches to the long-context tier above its prompt size (cached input falls back to the tier input price)', () => {
    const entry = price('gemini', 'gemini', 'g');
    expect(costNanoUsd({ promptTokens: 128_000, completionTokens: 0, totalTokens: 128_000 }, entry)).toBe(9_600_000n);
    expect(costNanoUsd({ promptTokens: 128_001, completionTokens: 0, totalTokens: 128_001 }, entry)).toBe(19_200_150n);
  });

  it('rounds fractions of a nano-dollar half up, once per request, so sums never drift', () => {
    const entry = price('gemini', 'gemini', 'g');
    // 1 cached token at 0.01875 USD per 1M = 18.75 nano-USD → 19.
    expect(costNanoUsd({ promptTokens: 1, cachedPromptTokens: 1, completionTokens: 0, totalTokens: 1 }, entry)).toBe(19n);
    // A million one-token requests: 75 nano each, exactly 0.075 USD in total.
    let total = 0n;
    for (let i = 0; i < 1_000_000; i += 1) total += costNanoUsd({ promptTokens: 1, completionTokens: 0, totalTokens: 1 }, entry);
    expect(formatUsd(total)).toBe('0.075');
  });

  it('converts USD amounts both ways without floating-point noise', () => {
    expect(usdToNano(0.1 + 0.2)).toBe(300_000_000n);
    expect(formatUsd(12_500_000_001n)).toBe('12.500000001');
    expect(formatUsd(0n)).toBe('0');
  });

  it('rejects a malformed table with the path of the bad field', () => {
    expect(() => new PriceTable({ prices: [{ vendor: 'openai', model: 'x', effective_from: '2024-1-1', input: 1, output: -1 }] }))
      .toThrow(/\/prices\/0\/effective_from|\/prices\/0\/output/);
  });
});
