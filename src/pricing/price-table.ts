import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { precompiled, type SchemaSpec } from '../validation/precompiled.ts';
import { parse as parseYaml } from 'yaml';

/** Prices in integer nano-USD per 1M tokens (USD × 1e9): exact for any list price with up to 9 decimals. */
export interface TokenPrices {
  input: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
  output: bigint;
}

export interface PriceEntry {
  /** Names the entry in usage records, e.g. `openai/gpt-4o@2024-10-01`. */
  id: string;
  prices: TokenPrices;
  /** A pricier tier for prompts longer than `abovePromptTokens` (Gemini 1.5). */
  longContext: { abovePromptTokens: number; prices: TokenPrices } | null;
}

/** What is being priced: the provider that serves (by name and by vendor) and the model it serves. */
export interface PricedTarget {
  provider: string;
  vendor: string;
  model: string;
}

/** config/pricing.yaml of this installation (src/pricing/ → ../../config, in the source tree and the image alike). */
export const DEFAULT_PRICING_PATH = fileURLToPath(new URL('../../config/pricing.yaml', import.meta.url));

const usd = { type: 'number', minimum: 0 } as const;
const tierPrices = { input: usd, cached_input: usd, cache_write: usd, output: usd } as const;
const pricingSchema = {
  type: 'object', additionalProperties: false, required: ['prices'],
  properties: {
    prices: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['model', 'effective_from', 'input', 'output'],
        oneOf: [{ required: ['vendor'] }, { required: ['provider'] }],
        properties: {
          vendor: { type: 'string', minLength: 1 },
          provider: { type: 'string', minLength: 1 },
          model: { type: 'string', minLength: 1 },
          effective_from: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
          ...tierPrices,
          long_context: {
            type: 'object', additionalProperties: false, required: ['above_prompt_tokens', 'input', 'output'],
            properties: { above_prompt_tokens: { type: 'integer', minimum: 1 }, ...tierPrices },
          },
        },
      },
    },
  },
} as const;

interface RawTier { input: number; output: number; cached_input?: number; cache_write?: number }
interface RawEntry extends RawTier {
  vendor?: string;
  provider?: string;
  model: string;
  effective_from: string;
  long_context?: RawTier & { above_prompt_tokens: number };
}

export const PRICING_SCHEMA_SPEC: SchemaSpec = { name: 'pricing', schema: pricingSchema, options: { allErrors: true, strict: false } };
const validatePricing = precompiled(PRICING_SCHEMA_SPEC);

/** USD with up to 9 decimals → nano-USD, rounding away the binary floating-point noise of the YAML number. */
const toNano = (dollars: number): bigint => BigInt(Math.round(dollars * 1e9));

/** Missing cache prices fall back to the input price: a provider without a cache discount bills cached tokens in full. */
function tokenPrices(tier: RawTier): TokenPrices {
  const input = toNano(tier.input);
  return {
    input,
    cachedInput: tier.cached_input === undefined ? input : toNano(tier.cached_input),
    cacheWrite: tier.cache_write === undefined ? input : toNano(tier.cache_write),
    output: toNano(tier.output),
  };
}

/** Dated snapshots and revisions share their base model's price: gpt-4o-2024-08-06, claude-3-5-haiku-20241022, gemini-1.5-pro-002. */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3}|latest)$/;

interface DatedEntry extends PriceEntry {
  effectiveFrom: number;
}

/** The price table of config/pricing.yaml, indexed for a lookup per request. */
export class PriceTable {
  /** `p:<provider>/<model>` and `v:<vendor>/<model>` → entries, newest first. */
  readonly #entries = new Map<string, DatedEntry[]>();

  constructor(raw: unknown, source = '(inline)') {
    if (!validatePricing(raw)) {
      const problems = (validatePricing.errors ?? []).map((e) => `${e.instancePath || '(root)'}: ${e.message ?? 'is invalid'}`);
      throw new Error(`invalid pricing table ${source}:\n  - ${problems.join('\n  - ')}`);
    }
    for (const entry of (raw as { prices: RawEntry[] }).prices) {
      const owner = entry.provider !== undefined ? `p:${entry.provider}` : `v:${entry.vendor}`;
      const key = `${owner}/${entry.model}`;
      const dated: DatedEntry = {
        id: `${entry.provider ?? entry.vendor}/${entry.model}@${entry.effective_from}`,
        effectiveFrom: Date.parse(`${entry.effective_from}T00:00:00Z`),
        prices: tokenPrices(entry),
        longContext: entry.long_context
          ? { abovePromptTokens: entry.long_context.above_prompt_tokens, prices: tokenPrices(entry.long_context) }
          : null,
      };
      const list = this.#entries.get(key) ?? [];
      list.push(dated);
      list.sort((a, b) => b.effectiveFrom - a.effectiveFrom);
      this.#entries.set(key, list);
    }
  }

  static load(path: string): PriceTable {
    return new PriceTable(parseYaml(readFileSync(path, 'utf8')), path);
  }

  /** The entry in force at `at` (ms): a provider's own entry wins over its vendor's; null when the model is not priced. */
  lookup(target: PricedTarget, at: number): PriceEntry | null {
    const base = target.model.replace(SNAPSHOT_SUFFIX, '');
    for (const key of [`p:${target.provider}/${target.model}`, `p:${target.provider}/${base}`, `v:${target.vendor}/${target.model}`, `v:${target.vendor}/${base}`]) {
      const entry = this.#entries.get(key)?.find((candidate) => candidate.effectiveFrom <= at);
      if (entry) return entry;
    }
    return null;
  }
}
