/**
 * The `quotas` section of tollgate.yaml: its JSON-schema fragment (merged into src/config/schema.ts) and its type.
 *
 * Scopes are named by their tenant path: a key by its key id, an app `org/team/app`, a team `org/team`, an org by
 * its name, a user `org/user`, a feature `org/feature`. `'*'` gives every member of the scope its own limit (each
 * key, each team…); an exact name wins over `'*'`.
 */
export interface RateLimitConfig {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens (prompt + completion) per minute. */
  tpm?: number;
}

export interface BudgetConfig {
  /** Spend cap per UTC day. */
  daily_usd?: number;
  /** Spend cap per UTC calendar month. */
  monthly_usd?: number;
}

export type LimitScope = 'key' | 'app' | 'team' | 'org';
export type BudgetScope = 'team' | 'app' | 'user' | 'feature';

export interface QuotasConfig {
  /** Quota store unreachable: admit (counted and logged) or answer 503. */
  on_store_failure: 'open' | 'closed';
  /** Completion tokens reserved for a request that sets no max_tokens. */
  default_max_tokens: number;
  /** Also send that default as the request's max_tokens, so the reservation is a bound the provider keeps. */
  enforce_max_tokens: boolean;
  /** Per public model name (route): its own default and enforcement. */
  models: Record<string, { default_max_tokens?: number; enforce_max_tokens?: boolean }>;
  limits: Record<LimitScope, Record<string, RateLimitConfig>>;
  budgets: Record<BudgetScope, Record<string, BudgetConfig>>;
  alerts: {
    /** Percentages of a budget at which an alert fires, once per period and scope. */
    thresholds: number[];
    webhook_url?: string;
    webhook_url_env?: string;
  };
  /** The price table (default: config/pricing.yaml of the installation). */
  pricing_file?: string;
  /** Local leases of quota under load, with the Redis store (src/quota/leasing-engine.ts). */
  leases: QuotaLeaseConfig;
}

export interface QuotaLeaseConfig {
  enabled: boolean;
  /** A process asks for leases on a set of scopes once it sees at least this many of their requests per second. */
  min_requests_per_second: number;
  /** A lease holds up to this many requests' worth (at the request's own cost) on top of the request taking it. */
  lease_requests: number;
  /** A scope lends at most this fraction of its headroom per lease, so leases shrink to nothing near a limit. */
  max_headroom_fraction: number;
  /** A lease is used for this long; what is left then goes back to Redis. */
  lease_ms: number;
  /** Spend settled against leases reaches the budget counters (and alerts) within this. */
  settle_flush_ms: number;
}

const positiveInt = { type: 'integer', minimum: 1 } as const;
const usd = { type: 'number', exclusiveMinimum: 0 } as const;
const scopeName = { type: 'string', minLength: 1, maxLength: 256 } as const;
const scopeMap = (entry: object) => ({ type: 'object', default: {}, propertyNames: scopeName, additionalProperties: entry });
const rateLimit = { type: 'object', additionalProperties: false, minProperties: 1, properties: { rpm: positiveInt, tpm: positiveInt } };
const budget = { type: 'object', additionalProperties: false, minProperties: 1, properties: { daily_usd: usd, monthly_usd: usd } };

export const quotasSchema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    on_store_failure: { enum: ['open', 'closed'], default: 'closed' },
    default_max_tokens: { ...positiveInt, default: 4096 },
    enforce_max_tokens: { type: 'boolean', default: false },
    models: {
      type: 'object', default: {},
      additionalProperties: {
        type: 'object', additionalProperties: false,
        properties: { default_max_tokens: positiveInt, enforce_max_tokens: { type: 'boolean' } },
      },
    },
    limits: {
      type: 'object', additionalProperties: false, default: {},
      properties: { key: scopeMap(rateLimit), app: scopeMap(rateLimit), team: scopeMap(rateLimit), org: scopeMap(rateLimit) },
    },
    budgets: {
      type: 'object', additionalProperties: false, default: {},
      properties: { team: scopeMap(budget), app: scopeMap(budget), user: scopeMap(budget), feature: scopeMap(budget) },
    },
    alerts: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        thresholds: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 100 }, uniqueItems: true, default: [50, 80, 100] },
        webhook_url: { type: 'string', pattern: '^https?://' },
        webhook_url_env: { type: 'string', minLength: 1 },
      },
    },
    pricing_file: { type: 'string', minLength: 1 },
    leases: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        min_requests_per_second: { type: 'number', minimum: 0, default: 50 },
        lease_requests: { type: 'integer', minimum: 1, maximum: 10_000, default: 32 },
        max_headroom_fraction: { type: 'number', exclusiveMinimum: 0, maximum: 0.5, default: 0.1 },
        lease_ms: { type: 'integer', minimum: 50, maximum: 60_000, default: 1000 },
        settle_flush_ms: { type: 'integer', minimum: 1, maximum: 10_000, default: 50 },
      },
    },
  },
} as const;
