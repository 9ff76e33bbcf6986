import type { MetadataResponseHeader } from '../envoy/response-headers.ts';
import { perMs, type BucketSpec } from './engine.ts';

/** OpenAI's duration format for x-ratelimit-reset-*: `20ms`, `1.5s`, `6m0s`. */
export function formatResetDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${Number((whole / 1000).toFixed(3))}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${Number(((whole - minutes * 60_000) / 1000).toFixed(3))}s`;
}

const HEADER_NAMES = {
  requests: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  tokens: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
} as const satisfies Record<BucketSpec['kind'], readonly MetadataResponseHeader[]>;

/**
 * OpenAI-style rate-limit headers from the bucket levels: per kind, the scope with the least left (the one that
 * will deny first). `reset` is the time until that bucket is full again.
 */
export function rateLimitHeaders(buckets: BucketSpec[], levels: number[]): Array<[MetadataResponseHeader, string]> {
  const tightest = new Map<BucketSpec['kind'], number>();
  buckets.forEach((bucket, index) => {
    const current = tightest.get(bucket.kind);
    if (current === undefined || (levels[index] as number) < (levels[current] as number)) tightest.set(bucket.kind, index);
  });
  const headers: Array<[MetadataResponseHeader, string]> = [];
  for (const [kind, index] of tightest) {
    const bucket = buckets[index] as BucketSpec;
    const level = levels[index] as number;
    const [limitName, remainingName, resetName] = HEADER_NAMES[kind];
    headers.push([limitName, String(bucket.limit)], [remainingName, String(Math.max(0, level))]);
    headers.push([resetName, formatResetDuration((bucket.limit - level) / perMs(bucket.limit))]);
  }
  return headers;
}
