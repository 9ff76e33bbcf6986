import type { ErrorObject } from 'ajv';
import { precompiled, type SchemaSpec } from '../validation/precompiled.ts';
import { PII_TYPES, type PiiType } from '../guardrails/pii/types.ts';
import { ROUTING_STRATEGIES, type RoutingStrategy } from '../pipeline/context.ts';

/** What tollgate/decision returns (policies/decision.schema.json is this schema, kept equal by a test). */
export interface PolicyDecision {
  allow: boolean;
  reasons: string[];
  allowed_providers: string[];
  required_region: string | null;
  redact: PiiType[];
  /** Optional (older policies omit it): how `redact` masks; reversible puts the values back in the answer. */
  redact_mode?: 'mask' | 'reversible';
  max_tokens: number | null;
  cache: 'allow' | 'forbid';
  /** Optional: routing strategies this request may not use (the plain chain, or a virtual model's first member, serves). */
  forbid_strategies?: RoutingStrategy[];
  /** Optional: the member model of a virtual model that must serve, instead of its strategy's choice; null: no pick. */
  route_model?: string | null;
  /** Optional: the variant of an A/B-tested alias (input.variant) that must serve, instead of the hashed assignment. */
  route_variant?: string | null;
}

export const decisionSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Tollgate policy decision',
  description: 'What tollgate/decision must return. Tollgate enforces it; an undefined or malformed decision denies the request.',
  type: 'object',
  additionalProperties: false,
  required: ['allow', 'reasons', 'allowed_providers', 'required_region', 'redact', 'max_tokens', 'cache'],
  properties: {
    allow: {
      description: 'false: the request is refused with 403 policy_denied and the reasons.',
      type: 'boolean',
    },
    reasons: {
      description: 'Why the request was denied, or else why providers were narrowed down. Shown to the client on a 403 and recorded in the audit log: never put request content here.',
      type: 'array',
      items: { type: 'string', minLength: 1 },
    },
    allowed_providers: {
      description: 'The candidate providers that may serve the request, by config name. Candidates not listed are never contacted (fallbacks included); none left → 403 no_allowed_provider.',
      type: 'array',
      items: { type: 'string' },
    },
    required_region: {
      description: 'Only providers declared in this region may serve; null for no requirement.',
      type: ['string', 'null'],
    },
    redact: {
      description: 'PII types to mask in the request before any provider sees it (e.g. an email becomes [REDACTED_EMAIL]).',
      type: 'array',
      uniqueItems: true,
      items: { enum: [...PII_TYPES] },
    },
    redact_mode: {
      description: 'mask (default): values become [REDACTED_<TYPE>]. reversible: numbered placeholders ([EMAIL_1]) that Tollgate replaces with the original values in the answer, streams included; the mapping lives only for the request and is never logged or stored.',
      enum: ['mask', 'reversible'],
    },
    max_tokens: {
      description: 'Caps the request\'s output tokens (set when the client sent none or more); null for no cap.',
      type: ['integer', 'null'],
      minimum: 1,
    },
    cache: {
      description: 'forbid: the answer must not be stored in or served from the response cache.',
      enum: ['allow', 'forbid'],
    },
    forbid_strategies: {
      description: 'Routing strategies this request may not use: latency (the plain chain and Envoy\'s balancing serve instead), cost or semantic (the virtual model\'s first allowed member serves; semantic: its default).',
      type: 'array',
      uniqueItems: true,
      items: { enum: [...ROUTING_STRATEGIES] },
    },
    route_model: {
      description: 'For a virtual model (input.routing.models): the member model that must serve, instead of the strategy\'s choice; it must be one of the members and have an allowed provider, or the request gets 403 no_allowed_provider. null: no pick.',
      type: ['string', 'null'],
    },
    route_variant: {
      description: 'For an A/B-tested alias (input.variant set): the variant that must serve, instead of the one the caller was assigned by hash; it must be one of the alias\'s variants and have an allowed provider, or the request gets 403 no_allowed_provider. null: no pick.',
      type: ['string', 'null'],
    },
  },
} as const;

export const DECISION_SCHEMA_SPEC: SchemaSpec = { name: 'policy-decision', schema: decisionSchema, options: { allErrors: false, strict: false } };
const validate = precompiled(DECISION_SCHEMA_SPEC);

const describe = (error: ErrorObject) => `${error.instancePath || '(decision)'} ${error.message ?? 'is invalid'}`;

/**
 * A policy result checked against the decision schema. Undefined (no rule matched) and malformed results are
 * problems, never a decision: the caller denies.
 */
export function checkDecision(result: unknown): { decision: PolicyDecision } | { problem: string } {
  if (result === undefined) return { problem: 'the policy produced no decision (undefined denies)' };
  if (validate(result)) return { decision: result as PolicyDecision };
  return { problem: `the policy returned a malformed decision: ${validate.errors?.map(describe).join('; ')}` };
}
