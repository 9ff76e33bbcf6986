import { GatewayError } from '../errors/gateway-error.ts';
import { formatUsd } from '../pricing/cost.ts';
import type { BucketSpec, BudgetSpec } from './engine.ts';
import { formatResetDuration } from './headers.ts';

const LIMIT_NAMES = { requests: 'requests per min (RPM)', tokens: 'tokens per min (TPM)' } as const;

/** Retry-After is whole seconds, at least 1 (0 would invite an immediate retry that fails again). */
const retryAfter = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

/** 429 rate_limit_exceeded, worded like OpenAI's (limit, used, requested, when to retry). */
export function rateLimitExceeded(bucket: BucketSpec, level: number, requested: number, retryMs: number): GatewayError {
  const where = `${LIMIT_NAMES[bucket.kind]} of ${bucket.scope} ${bucket.scopeId}`;
  const used = Math.max(0, bucket.limit - level);
  const message = retryMs < 0
    ? `Request too large for ${where}: Limit ${bucket.limit}, Requested ${requested}. Send a smaller request or set a lower max_tokens.`
    : `Rate limit reached for ${where}: Limit ${bucket.limit}, Used ${used}, Requested ${requested}. Please try again in ${formatResetDuration(retryMs)}.`;
  return new GatewayError({
    status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', message,
    headers: { 'retry-after': retryAfter(retryMs < 0 ? 60_000 : retryMs) },
  });
}

/** 429 insufficient_quota: a spend budget is used up until its period ends. */
export function budgetExceeded(budget: BudgetSpec, usedNanoUsd: number, now: number): GatewayError {
  const ends = new Date(budget.periodEndsAt).toISOString();
  return new GatewayError({
    status: 429, type: 'insufficient_quota', code: 'insufficient_quota',
    message: `You exceeded the ${budget.period} budget of ${budget.scope} ${budget.scopeId}: $${formatUsd(BigInt(usedNanoUsd))} of ` +
      `$${formatUsd(BigInt(budget.capNanoUsd))} used or reserved. It resets at ${ends}.`,
    headers: { 'retry-after': retryAfter(budget.periodEndsAt - now) },
  });
}

/** 503 when the quota store is unreachable and the deployment fails closed. */
export function quotaStoreUnavailable(): GatewayError {
  return new GatewayError({
    status: 503, type: 'api_error', code: 'quota_store_unavailable',
    message: 'The gateway cannot check quotas right now; retry shortly.',
    headers: { 'retry-after': '1' },
  });
}
