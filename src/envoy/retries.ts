import type { ModelConfig, RetryConfig, TollgateConfig } from '../config/types.ts';
import { seconds } from './names.ts';

/**
 * Retries on the same provider before any fallback, done by Envoy's router (never by Tollgate):
 *  - what is retried: connect failures, refused streams, resets (a provider that closed or timed out before
 *    answering) and the statuses of `routing.retry_on_status` (429, 500, 502, 503, 504 by default);
 *  - how long between attempts: `retry_back_off`, exponential with full jitter (retry n waits a random time below
 *    (2^n − 1) × base, at most max), or the provider's `Retry-After` when it is at most `retry_after_max_ms`
 *    (`rate_limited_retry_back_off`; Envoy ignores a longer value and uses the back-off instead);
 *  - only while nothing reached the client: Envoy retries before it forwards response headers downstream, never
 *    after (a stream cut mid-way is an error for the client, not a retry).
 * A model's retries apply per provider: a chain tries each provider 1 + max times, in chain order (the
 * previous_priorities predicate moves to the next priority every 1 + max attempts).
 */
export function modelRetries(config: TollgateConfig, model: ModelConfig | undefined): RetryConfig {
  const base = config.routing.retries;
  const own = model?.retries;
  if (!own) return base;
  return {
    max: own.max ?? base.max,
    base_interval_ms: own.base_interval_ms ?? base.base_interval_ms,
    max_interval_ms: own.max_interval_ms ?? base.max_interval_ms,
    retry_after_max_ms: own.retry_after_max_ms ?? base.retry_after_max_ms,
  };
}

/** Attempts for a request that may use `targets` providers of the model: each 1 + max times, capped by max_attempts. */
export function totalAttempts(model: ModelConfig | undefined, retries: RetryConfig, targets: number): number {
  return Math.max(1, Math.min(model?.max_attempts ?? Number.POSITIVE_INFINITY, targets * (retries.max + 1)));
}

/** What a single-provider route's retry policy depends on; routes are shared by the models with the same profile. */
export interface RetryProfile {
  numRetries: number;
  baseIntervalMs: number;
  maxIntervalMs: number;
  retryAfterMaxMs: number;
}

export function singleProviderProfile(config: TollgateConfig, model: ModelConfig | undefined): RetryProfile {
  const retries = modelRetries(config, model);
  return {
    numRetries: totalAttempts(model, retries, 1) - 1,
    baseIntervalMs: retries.base_interval_ms,
    maxIntervalMs: retries.max_interval_ms,
    retryAfterMaxMs: retries.retry_after_max_ms,
  };
}

/** '' for the default profile (routing.retries), else a suffix naming the profile: `@r<retries>,<base>,<max>,<cap>`. */
export function profileSuffix(config: TollgateConfig, profile: RetryProfile): string {
  const base = singleProviderProfile(config, undefined);
  if (profile.numRetries === base.numRetries && profile.baseIntervalMs === base.baseIntervalMs &&
    profile.maxIntervalMs === base.maxIntervalMs && profile.retryAfterMaxMs === base.retryAfterMaxMs) return '';
  return `@r${profile.numRetries},${profile.baseIntervalMs},${profile.maxIntervalMs},${profile.retryAfterMaxMs}`;
}

/**
 * The x-tollgate-route value of a model served by one provider: the provider's name, plus the retry profile when
 * the model's differs from the default. Computed once per model object (a config reload brings new objects).
 */
const singleRouteKeys = new WeakMap<ModelConfig, string>();

export function singleProviderRouteKey(config: TollgateConfig, modelName: string | null, provider: string): string {
  const model = modelName !== null && Object.hasOwn(config.models, modelName) ? config.models[modelName] : undefined;
  if (!model) return provider + profileSuffix(config, singleProviderProfile(config, undefined));
  let suffix = singleRouteKeys.get(model);
  if (suffix === undefined) {
    suffix = profileSuffix(config, singleProviderProfile(config, model));
    singleRouteKeys.set(model, suffix);
  }
  return provider + suffix;
}

/** The statuses and failures that are retried (on the same provider, then the next one of a chain). */
export function retryOn(config: TollgateConfig) {
  return {
    retry_on: 'reset,connect-failure,refused-stream,retriable-status-codes',
    retriable_status_codes: config.routing.retry_on_status,
  };
}

export function backOff(profile: Pick<RetryProfile, 'baseIntervalMs' | 'maxIntervalMs' | 'retryAfterMaxMs'>) {
  return {
    retry_back_off: { base_interval: seconds(profile.baseIntervalMs), max_interval: seconds(profile.maxIntervalMs) },
    rate_limited_retry_back_off: {
      reset_headers: [{ name: 'retry-after', format: 'SECONDS' }],
      max_interval: seconds(profile.retryAfterMaxMs),
    },
  };
}
