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
  },
} as const;
