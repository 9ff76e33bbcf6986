import type { PiiType } from '../pii/types.ts';

export const EXTERNAL_GUARDRAIL_TYPES = ['presidio', 'llama_guard', 'azure_content_safety', 'prompt_injection', 'topics'] as const;
export type ExternalGuardrailType = (typeof EXTERNAL_GUARDRAIL_TYPES)[number];

/** Which requests a guardrail checks; an absent list matches everything. */
export interface GuardrailScope {
  teams?: string[];
  /** `team/app`, or an app name in any team. */
  apps?: string[];
  /** Public model names or aliases (the route the client asked for). */
  models?: string[];
}

interface ExternalGuardrailCommon {
  name: string;
  /** Base URL of the service (e.g. http://presidio:5002). */
  url: string;
  /** Env var holding the credential (Bearer for presidio and llama_guard, Ocp-Apim-Subscription-Key for Azure). */
  api_key_env?: string;
  /** The whole call, connection included; Envoy's message_timeout_ms must leave room for it. */
  timeout_ms: number;
  /** A timeout or error: `closed` answers 503 guardrail_unavailable and calls no provider; `open` proceeds and counts it. */
  on_error: 'open' | 'closed';
  applies_to: 'input' | 'output' | 'both';
  /**
   * What a flag does when no policy decides (without a `policy` section, and always for answers): `block` refuses
   * (input: 400 content_filter; answer: finish_reason content_filter), `flag` only records it. With a policy, the
   * policy decides about requests from the verdicts in its input.
   */
  action: 'block' | 'flag';
  when?: GuardrailScope;
}

export interface PresidioGuardrailConfig extends ExternalGuardrailCommon {
  type: 'presidio';
  language: string;
  /** Presidio entity names to ask for (default: all the analyzer knows); unmapped ones are ignored. */
  entities?: string[];
  score_threshold: number;
}

export interface LlamaGuardConfig extends ExternalGuardrailCommon {
  type: 'llama_guard';
  /** The model name the OpenAI-compatible server knows (e.g. meta-llama/Llama-Guard-3-8B). */
  model: string;
  /** Hazard categories (S1..S14) that count as a flag; default all. */
  categories?: string[];
}

export interface AzureContentSafetyConfig extends ExternalGuardrailCommon {
  type: 'azure_content_safety';
  api_version: string;
  categories?: Array<'Hate' | 'SelfHarm' | 'Sexual' | 'Violence'>;
  /** A category at or above this severity (0, 2, 4, 6) flags the text. */
  severity_threshold: number;
}

/**
 * The prompt-injection classifier of Tollgate's model sidecar (sidecars/minilm/server.py: POST {url}/v1/injection).
 * Every text of the request is scored; the highest score is the finding `injection`, and a score at or above the
 * threshold flags the request.
 */
export interface PromptInjectionConfig extends ExternalGuardrailCommon {
  type: 'prompt_injection';
  /** Default: the model's own threshold, which the sidecar returns with every answer. */
  threshold?: number;
}

/**
 * Topic allow and deny lists by meaning: example phrases per topic, embedded by an OpenAI-compatible embeddings
 * endpoint (POST {url}/embeddings; the semantic cache's model, all-MiniLM-L6-v2 from the sidecar, by default).
 * The last user message (embeddings: each input) is compared with every phrase; a deny topic with a phrase at or
 * above `threshold` is a finding named after the topic; with an allow list, a text below `threshold` for every
 * allowed phrase is the finding `off_topic` (score: 1 − its best similarity). Either flags the request. MiniLM's
 * similarities are low: 0.35 by default (test/bench/topics.ts).
 */
export interface TopicsGuardrailConfig extends ExternalGuardrailCommon {
  type: 'topics';
  model: string;
  threshold: number;
  deny?: Record<string, string[]>;
  allow?: Record<string, string[]>;
}

export type ExternalGuardrailConfig = PresidioGuardrailConfig | LlamaGuardConfig | AzureContentSafetyConfig
  | PromptInjectionConfig | TopicsGuardrailConfig;

/** Presidio entity → the gateway's PII type; entities not listed are not PII types policies know, and are ignored. */
export const PRESIDIO_ENTITY_TYPES: Readonly<Record<string, PiiType>> = {
  EMAIL_ADDRESS: 'email',
  PHONE_NUMBER: 'phone',
  CREDIT_CARD: 'credit_card',
  IBAN_CODE: 'iban',
  IP_ADDRESS: 'ip_address',
  PERSON: 'person_name',
  LOCATION: 'address',
  ADDRESS: 'address',
  US_SSN: 'national_id',
  US_PASSPORT: 'national_id',
  US_DRIVER_LICENSE: 'national_id',
  US_ITIN: 'national_id',
  UK_NHS: 'national_id',
  UK_NINO: 'national_id',
  ES_NIF: 'national_id',
  ES_NIE: 'national_id',
  IT_FISCAL_CODE: 'national_id',
  IT_PASSPORT: 'national_id',
  IT_IDENTITY_CARD: 'national_id',
  SG_NRIC_FIN: 'national_id',
  AU_TFN: 'national_id',
  AU_MEDICARE: 'national_id',
  IN_PAN: 'national_id',
  IN_AADHAAR: 'national_id',
  IN_PASSPORT: 'national_id',
  IN_VOTER: 'national_id',
  PL_PESEL: 'national_id',
  FI_PERSONAL_IDENTITY_CODE: 'national_id',
  CRYPTO: 'secret',
};

export const LLAMA_GUARD_CATEGORIES = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13', 'S14'] as const;
export const AZURE_CATEGORIES = ['Hate', 'SelfHarm', 'Sexual', 'Violence'] as const;

const nameList = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true } as const;
const common = {
  name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$' },
  type: { enum: [...EXTERNAL_GUARDRAIL_TYPES] },
  url: { type: 'string', pattern: '^https?://[^/]+' },
  api_key_env: { type: 'string', minLength: 1 },
  timeout_ms: { type: 'integer', minimum: 1, maximum: 60_000, default: 300 },
  on_error: { enum: ['open', 'closed'], default: 'closed' },
  applies_to: { enum: ['input', 'output', 'both'], default: 'input' },
  action: { enum: ['block', 'flag'], default: 'block' },
  when: {
    type: 'object', additionalProperties: false,
    properties: { teams: nameList, apps: nameList, models: nameList },
  },
} as const;
const topicList = {
  type: 'object', minProperties: 1,
  propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$' },
  additionalProperties: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 2000 } },
} as const;
const typeFields: Record<ExternalGuardrailType, { required?: string[]; properties: Record<string, object>; anyOf?: object[] }> = {
  presidio: {
    properties: {
      language: { type: 'string', minLength: 2, default: 'en' },
      entities: nameList,
      score_threshold: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
      // Presidio finds personal data for redaction before the provider call; answers are the output stage's job.
      applies_to: { const: 'input' },
    },
  },
  llama_guard: {
    required: ['model'],
    properties: {
      model: { type: 'string', minLength: 1 },
      categories: { type: 'array', uniqueItems: true, items: { enum: [...LLAMA_GUARD_CATEGORIES] } },
    },
  },
  azure_content_safety: {
    properties: {
      api_version: { type: 'string', minLength: 1, default: '2024-09-01' },
      categories: { type: 'array', uniqueItems: true, minItems: 1, items: { enum: [...AZURE_CATEGORIES] } },
      severity_threshold: { type: 'integer', minimum: 0, maximum: 7, default: 4 },
    },
  },
  prompt_injection: {
    properties: {
      threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      applies_to: { const: 'input' },
    },
  },
  topics: {
    anyOf: [{ required: ['deny'] }, { required: ['allow'] }],
    properties: {
      model: { type: 'string', minLength: 1, default: 'all-MiniLM-L6-v2' },
      threshold: { type: 'number', minimum: -1, maximum: 1, default: 0.35 },
      deny: topicList,
      allow: topicList,
      applies_to: { const: 'input' },
    },
  },
};

export const externalGuardrailsSchema = {
  type: 'array', default: [],
  items: {
    type: 'object', required: ['name', 'type', 'url'],
    properties: common,
    allOf: Object.entries(typeFields).map(([type, fields]) => ({
      if: { properties: { type: { const: type } } },
      then: {
        ...(fields.required ? { required: fields.required } : {}),
        ...(fields.anyOf ? { anyOf: fields.anyOf } : {}),
        properties: fields.properties,
        propertyNames: { enum: [...new Set([...Object.keys(common), ...Object.keys(fields.properties)])] },
      },
    })),
  },
} as const;

/** What JSON Schema cannot say: unique names, and timeouts that fit inside Envoy's wait for Tollgate. */
export function externalGuardrailProblems(list: ExternalGuardrailConfig[], messageTimeoutMs: number): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  list.forEach((guardrail, index) => {
    if (seen.has(guardrail.name)) problems.push(`guardrails.external.${index}.name: "${guardrail.name}" is used twice`);
    seen.add(guardrail.name);
    if (guardrail.timeout_ms >= messageTimeoutMs) {
      problems.push(`guardrails.external.${index}.timeout_ms: must be below envoy.message_timeout_ms (${messageTimeoutMs}), or Envoy gives up first`);
    }
  });
  return problems;
}
