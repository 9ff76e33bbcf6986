import type { GuardrailFinding, GuardrailVerdict } from '../guardrails/external/verdict.ts';
import type { PiiFindings } from '../guardrails/pii/types.ts';
import { requestTexts } from '../guardrails/pii/request-text.ts';
import type { RequestContext, RouteCandidate, RoutingStrategy } from '../pipeline/context.ts';

/** What the policy sees (policies/input.schema.json documents it; a test validates built inputs against it). */
export interface PolicyInput {
  endpoint: 'chat' | 'embeddings';
  stream: boolean;
  tenant: { org: string; team: string; app: string; user: string | null; feature: string | null };
  model: string;
  /** The A/B variant assigned (its name and the model it routes to) when `model` is an A/B test, else null. */
  variant: { name: string; model: string } | null;
  candidates: RouteCandidate[];
  /**
   * The routing strategy configured for the model (cost, semantic, latency; null: plain chain) and, for a virtual
   * model, the member models it picks among (their targets are the candidates). A decision may forbid the strategy
   * or pick the member (`forbid_strategies`, `route_model`).
   */
  routing: { strategy: RoutingStrategy | null; models: string[] };
  tokens: { prompt_estimate: number; max_tokens: number | null };
  pii: PiiFindings;
  /** External guardrails' verdicts by guardrail name: categories with counts and scores, never text ({} when none ran). */
  guardrails: Record<string, PolicyGuardrailVerdict>;
  time: { unix_ms: number; iso: string };
}

export interface PolicyGuardrailVerdict {
  type: GuardrailVerdict['type'];
  status: GuardrailVerdict['status'];
  findings: Record<string, GuardrailFinding>;
}

/** The verdicts as policies see them: no latency (it would change the input digest of equal requests). */
function guardrailsInput(verdicts: Record<string, GuardrailVerdict> | undefined): Record<string, PolicyGuardrailVerdict> {
  if (!verdicts) return {};
  const out: Record<string, PolicyGuardrailVerdict> = {};
  for (const [name, { type, status, findings }] of Object.entries(verdicts)) out[name] = { type, status, findings };
  return out;
}

/** Per-message overhead of the chat format (role, separators), as OpenAI counts it. */
const TOKENS_PER_MESSAGE = 4;

/**
 * A cheap estimate (about four characters per token) that needs no tokenizer: policies compare it to limits of
 * thousands of tokens, where a few percent do not matter.
 */
export function estimatePromptTokens(body: Record<string, unknown>): number {
  let chars = 0;
  for (const text of requestTexts(body)) chars += text.length;
  const messages = Array.isArray(body.messages) ? body.messages.length : 0;
  return Math.ceil(chars / 4) + messages * TOKENS_PER_MESSAGE;
}

function requestedMaxTokens(body: Record<string, unknown>): number | null {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

/** The policy input for a request that has a tenant, a model and candidates (after the resolve stage). */
export function buildPolicyInput(ctx: RequestContext, pii: PiiFindings, nowMs: number): PolicyInput {
  const tenant = ctx.tenant;
  if (!tenant || !ctx.model || (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings' && ctx.endpoint !== 'count-tokens')) {
    throw new Error('policy input needs a tenant, a model and a chat, embeddings or count-tokens endpoint');
  }
  const body = ctx.body ?? {};
  const unixMs = Math.floor(nowMs);
  return {
    // A count_tokens request is decided as the chat request it counts: the rule that denies, redacts or narrows the
    // message does the same to its count (one rule covers every API).
    endpoint: ctx.endpoint === 'count-tokens' ? 'chat' : ctx.endpoint,
    stream: ctx.stream,
    tenant: { org: tenant.org, team: tenant.team, app: tenant.app, user: tenant.user, feature: tenant.feature },
    // For an A/B test, the alias asked for (allow-lists name what clients ask for); the variant's model below.
    model: ctx.variant ? ctx.model : (ctx.routing.alias ?? ctx.model),
    variant: ctx.variant ? { name: ctx.variant, model: ctx.routing.alias ?? ctx.model } : null,
    candidates: ctx.routing.candidates.map(({ provider, vendor, region, model }) => ({ provider, vendor, region, model })),
    routing: { strategy: ctx.routing.strategy ?? null, models: ctx.routing.choices ? [...ctx.routing.choices] : [] },
    tokens: { prompt_estimate: estimatePromptTokens(body), max_tokens: requestedMaxTokens(body) },
    pii,
    guardrails: guardrailsInput(ctx.guardrails),
    time: { unix_ms: unixMs, iso: new Date(unixMs).toISOString() },
  };
}
