import type { TollgateConfig } from '../config/types.ts';

/**
 * The `cache` section of config/tollgate.yaml. `defaults` applies to every chat model; `models.<alias>` overrides
 * single fields for one public model name or alias (the "route" a client picks).
 */
export interface CacheRuleConfig {
  /**
   * Which requests are cached: `deterministic` only those asking for temperature 0 (anything else would freeze one
   * random sample), `always` every request, `off` none.
   */
  mode: 'deterministic' | 'always' | 'off';
  ttl_seconds: number;
  /** Cosine similarity from which a paraphrase is answered from cache; absent = exact matches only. */
  semantic_threshold?: number;
  /**
   * Error-bounded semantic hits (src/cache/error-bound.ts): the promised ceiling on the rate of served semantic
   * answers that a fresh answer would contradict. The threshold is then learned per tenant scope and model from
   * verified outcomes, and `semantic_threshold` is only the lowest similarity ever explored.
   */
  semantic_max_error?: number;
  /** Answers depend on who asks (a user-scoped route): never cached, never served from cache. */
  personalized: boolean;
  /** When every provider fails, an entry up to `stale_ttl_seconds` past its expiry answers instead of the error. */
  stale_on_error: boolean;
  stale_ttl_seconds: number;
  /** Answers (200, marked `x-tollgate-cache: default`) when every provider failed and no stale entry exists. */
  default_response?: { content: string };
}

export interface CacheConfig {
  /** Where entries live; defaults to the store's type (Redis when the gateway shares a Redis). */
  backend?: 'memory' | 'redis';
  /** Size bounds of the whole cache; the entries closest to expiry are evicted first. */
  max_entries: number;
  max_bytes: number;
  /** A larger answer is not cached (and a stream is no longer recorded once it passes this). */
  max_entry_bytes: number;
  /** Who shares entries: every app of an org, of a team, or each app alone. Never across orgs. */
  share: 'org' | 'team' | 'app';
  /** An embeddings model from `models`, called through its provider, for the semantic cache. */
  embeddings_model?: string;
  /** Longest wait for the embeddings provider before the semantic lookup is skipped. */
  embeddings_timeout_ms: number;
  /** Error-bounded rules: how sure the promise is (1 - the chance the learned threshold breaks it). */
  semantic_confidence: number;
  /** Error-bounded rules: the share of would-be hits still sent to the provider to keep verifying. */
  semantic_explore_rate: number;
  /** Error-bounded rules: the cosine of the two answers' embeddings from which a stored answer counts as right. */
  semantic_answer_agreement: number;
  defaults: CacheRuleConfig;
  models: Record<string, Partial<CacheRuleConfig>>;
}

const ruleProperties = (withDefaults: boolean) => {
  const d = <T>(value: T) => (withDefaults ? { default: value } : {});
  return {
    mode: { enum: ['deterministic', 'always', 'off'], ...d('deterministic') },
    ttl_seconds: { type: 'integer', minimum: 1, ...d(3600) },
    semantic_threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    semantic_max_error: { type: 'number', exclusiveMinimum: 0, maximum: 0.5 },
    personalized: { type: 'boolean', ...d(false) },
    stale_on_error: { type: 'boolean', ...d(false) },
    stale_ttl_seconds: { type: 'integer', minimum: 0, ...d(86_400) },
    default_response: {
      type: 'object', additionalProperties: false, required: ['content'],
      properties: { content: { type: 'string', minLength: 1 } },
    },
  };
};

/** JSON Schema of the section (plugged into src/config/schema.ts). */
export const cacheConfigSchema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    backend: { enum: ['memory', 'redis'] },
    max_entries: { type: 'integer', minimum: 1, default: 10_000 },
    max_bytes: { type: 'integer', minimum: 1024, default: 64 * 1024 * 1024 },
    max_entry_bytes: { type: 'integer', minimum: 256, default: 1024 * 1024 },
    share: { enum: ['org', 'team', 'app'], default: 'app' },
    embeddings_model: { type: 'string', minLength: 1 },
    embeddings_timeout_ms: { type: 'integer', minimum: 1, default: 1000 },
    semantic_confidence: { type: 'number', minimum: 0.5, exclusiveMaximum: 1, default: 0.95 },
    semantic_explore_rate: { type: 'number', minimum: 0, maximum: 1, default: 0.05 },
    semantic_answer_agreement: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.9 },
    defaults: { type: 'object', additionalProperties: false, default: {}, properties: ruleProperties(true) },
    models: {
      type: 'object', default: {},
      additionalProperties: { type: 'object', additionalProperties: false, properties: ruleProperties(false) },
    },
  },
} as const;

/** The rule of one model alias: its overrides on top of the defaults. */
export function cacheRuleFor(cache: CacheConfig, alias: string): CacheRuleConfig {
  const overrides = Object.hasOwn(cache.models, alias) ? cache.models[alias] : undefined;
  return overrides ? { ...cache.defaults, ...overrides } : cache.defaults;
}

/** Whether any rule can turn a failed answer into a stale or default one (Envoy must then show Tollgate the status). */
export function anyFallbackRule(cache: CacheConfig): boolean {
  return [cache.defaults, ...Object.values(cache.models)].some((rule) => rule.stale_on_error || rule.default_response);
}

/** References JSON Schema cannot check: models that exist, an embeddings model for semantic thresholds, Redis. */
export function cacheConfigProblems(config: TollgateConfig): string[] {
  const cache = config.cache;
  const problems: string[] = [];
  for (const alias of Object.keys(cache.models)) {
    if (!config.models[alias]) problems.push(`cache.models.${alias}: unknown model "${alias}"`);
  }
  if (cache.embeddings_model !== undefined) {
    const model = config.models[cache.embeddings_model];
    if (!model) problems.push(`cache.embeddings_model: unknown model "${cache.embeddings_model}"`);
    else if (model.kind !== 'embeddings') problems.push(`cache.embeddings_model: "${cache.embeddings_model}" is not an embeddings model`);
  }
  const semantic = [cache.defaults, ...Object.values(cache.models)].some((rule) => rule.semantic_threshold !== undefined);
  for (const [name, rule] of [['defaults', cache.defaults], ...Object.entries(cache.models)] as Array<[string, Partial<CacheRuleConfig>]>) {
    if (rule.semantic_max_error !== undefined && rule.semantic_threshold === undefined && cache.defaults.semantic_threshold === undefined) {
      problems.push(`cache.${name === 'defaults' ? 'defaults' : `models.${name}`}: semantic_max_error needs a semantic_threshold (the lowest similarity explored)`);
    }
  }
  if (semantic && cache.embeddings_model === undefined) {
    problems.push('cache: a semantic_threshold needs cache.embeddings_model');
  }
  if (cache.backend === 'redis' && config.store.type !== 'redis') {
    problems.push('cache.backend: redis uses the store\'s Redis; set store.type to redis');
  }
  return problems;
}
