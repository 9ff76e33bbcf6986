import type { Usage } from '../pipeline/context.ts';
import type { PriceEntry } from './price-table.ts';

const PER_MILLION = 1_000_000n;

/**
 * The cost of one request in integer nano-USD: every token kind times its price (nano-USD per 1M tokens), summed
 * exactly as bigint and divided once, rounding half up. Each request is off by less than half a nano-dollar, and
 * request costs add up exactly, so a million requests never drift by more than half a milli-dollar in total.
 */
export function costNanoUsd(usage: Usage, entry: PriceEntry): bigint {
  const tier = entry.longContext && usage.promptTokens > entry.longContext.abovePromptTokens ? entry.longContext.prices : entry.prices;
  const cached = Math.min(usage.cachedPromptTokens ?? 0, usage.promptTokens);
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cached);
  const fresh = usage.promptTokens - cached - written;
  const scaled =
    BigInt(fresh) * tier.input +
    BigInt(cached) * tier.cachedInput +
    BigInt(written) * tier.cacheWrite +
    BigInt(usage.completionTokens) * tier.output;
  return (scaled + PER_MILLION / 2n) / PER_MILLION;
}

/** nano-USD as a decimal USD string without rounding, e.g. 1234567n → "0.001234567". */
export function formatUsd(nanoUsd: bigint): string {
  const negative = nanoUsd < 0n;
  const abs = negative ? -nanoUsd : nanoUsd;
  const whole = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A USD amount from config (e.g. a budget of 12.5) as nano-USD. */
export const usdToNano = (dollars: number): bigint => BigInt(Math.round(dollars * 1e9));
