import { createHash, randomUUID } from 'node:crypto';
import type { AuditRecord } from '../audit/audit-record.ts';
import { errors } from '../errors/errors.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import { rewriteRequestText } from '../guardrails/pii/request-text.ts';
import { redactPii } from '../guardrails/pii/scan.ts';
import { PlaceholderVault } from '../guardrails/pii/placeholder-vault.ts';
import { NO_PII, type PiiType } from '../guardrails/pii/types.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import type { PolicyBundle } from '../policy/bundle.ts';
import { checkDecision, type PolicyDecision } from '../policy/decision.ts';
import { buildPolicyInput } from '../policy/input.ts';

export interface PolicyStageDeps {
  /** The live bundle, read once per request: a reload never changes a decision half-way. */
  bundle: () => PolicyBundle;
  /** Receives every decision (the append-only audit log). */
  audit: (record: AuditRecord) => void;
  failMode: () => 'closed' | 'open';
  /** Wall-clock milliseconds (the policy's notion of "now", e.g. business hours). */
  now: () => number;
  /**
   * Moves an A/B-tested request to the named variant (route_variant): its candidates replace the assigned variant's.
   * Returns why it cannot (not a variant of the alias, nothing the team may use), or null once done.
   */
  selectVariant?: (ctx: RequestContext, variant: string) => string | null;
}

const encoder = new TextEncoder();

/** What policy changes about an allowed request. When no candidate is left, the route stage answers 403 with the reasons. */
function enforce(ctx: RequestContext, decision: PolicyDecision): void {
  const routing = ctx.routing;
  const allowed = new Set(decision.allowed_providers);
  for (const candidate of routing.candidates) {
    if (!allowed.has(candidate.provider)) routing.excludedProviders.add(candidate.provider);
  }
  if (decision.required_region !== null) {
    const region = decision.required_region;
    routing.allowedRegions = routing.allowedRegions
      ? new Set([...routing.allowedRegions].filter((r) => r === region))
      : new Set([region]);
  }
  routing.reasons.push(...decision.reasons);
  if (decision.forbid_strategies?.length) routing.forbiddenStrategies = new Set(decision.forbid_strategies);
  if (decision.route_model) routing.pickedModel = decision.route_model;
  if (decision.cache === 'forbid') ctx.cachePolicy = 'forbid';
  if (!ctx.body) return;
  const found = ctx.pii?.types ?? {};
  const redact = new Set<PiiType>(decision.redact.filter((type) => (found[type] ?? 0) > 0));
  if (redact.size > 0) {
    // Reversible: the provider sees [EMAIL_1], the output guardrails stage puts the value back in the answer.
    const vault = decision.redact_mode === 'reversible' ? (ctx.placeholders ??= new PlaceholderVault()) : undefined;
    const extra = ctx.externalPii;
    rewriteRequestText(ctx.body, (text) => redactPii(text, redact, vault, extra?.get(text)));
    ctx.upstream.bodyChanged = true;
  }
  if (decision.max_tokens !== null && ctx.endpoint === 'chat') {
    // Cap the field the client used; max_completion_tokens is the one newer models accept.
    const field = 'max_completion_tokens' in ctx.body ? 'max_completion_tokens' : 'max_tokens';
    const requested = ctx.body[field];
    if (typeof requested !== 'number' || requested > decision.max_tokens) {
      ctx.body[field] = decision.max_tokens;
      ctx.upstream.bodyChanged = true;
    }
  }
}

type Outcome = { decision: PolicyDecision } | { problem: string } | { failure: string };

function evaluate(bundle: PolicyBundle, encoded: Uint8Array): Outcome {
  try {
    return checkDecision(bundle.evaluate(encoded));
  } catch (error) {
    return { failure: `policy evaluation failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The decision's effects, as the audit log keeps them next to the verdict. */
const effectsOf = ({ allow: _allow, reasons: _reasons, ...effects }: PolicyDecision): AuditRecord['result'] => effects;

/**
 * Policy as code: evaluates the Rego bundle (WASM, in process) on every chat and embeddings request and enforces
 * the decision — deny (403), narrow the providers and region (the route stage guarantees the rest is never
 * contacted), redact PII, cap max_tokens, forbid caching. Every decision goes to the audit log, without request
 * content. No decision (undefined) or a malformed one denies; a failed evaluation follows the fail mode.
 */
export function policyStage(deps: PolicyStageDeps): Stage {
  return {
    name: 'policy',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings' && ctx.endpoint !== 'count-tokens') return;
      if (!ctx.tenant || !ctx.model || ctx.routing.candidates.length === 0) return;
      return decide(ctx, false);
    },
  };

  /**
   * One evaluation and its enforcement. A variant picked by policy (route_variant) changes the candidates, which the
   * decision's allowed providers were computed from: the request is decided again on the picked variant's
   * candidates (both decisions are audited), and that second decision is the one enforced.
   */
  function decide(ctx: RequestContext, repicked: boolean): StageResult {
    const bundle = deps.bundle();
    const pii = ctx.pii ?? NO_PII;
    const input = buildPolicyInput(ctx, pii, deps.now());
    const encoded = encoder.encode(JSON.stringify(input));
    const started = performance.now();
    const outcome = evaluate(bundle, encoded);
    const evalUs = Math.round((performance.now() - started) * 1000);
    const decisionId = randomUUID();

    let allow: boolean;
    let reasons: string[];
    let rejection: GatewayError | null = null;
    if ('decision' in outcome) {
      ({ allow, reasons } = outcome.decision);
      if (!allow) rejection = errors.policyDenied(reasons, decisionId);
    } else if ('problem' in outcome) {
      allow = false;
      reasons = [outcome.problem];
      rejection = errors.policyDenied(reasons, decisionId);
      ctx.log.error({ decision_id: decisionId, revision: bundle.revision, problem: outcome.problem }, 'policy decision unusable; denied');
    } else {
      allow = deps.failMode() === 'open';
      reasons = [outcome.failure];
      if (!allow) rejection = errors.policyUnavailable(decisionId);
      ctx.log.error({ decision_id: decisionId, revision: bundle.revision, error: outcome.failure, fail_mode: deps.failMode() }, 'policy evaluation failed');
    }

    deps.audit({
      decision_id: decisionId,
      time: input.time.iso,
      request_id: ctx.requestId,
      revision: bundle.revision,
      input_digest: `sha256:${createHash('sha256').update(encoded).digest('hex')}`,
      tenant: input.tenant,
      model: input.model,
      // Decided as chat (one rule covers both), but the audit tells a count from the message it counts.
      endpoint: ctx.endpoint === 'count-tokens' ? 'count-tokens' : input.endpoint,
      decision: allow ? 'allow' : 'deny',
      reasons,
      result: 'decision' in outcome ? effectsOf(outcome.decision) : null,
      error: 'decision' in outcome ? null : reasons[0] ?? null,
      pii,
      ...(ctx.guardrails ? { guardrails: ctx.guardrails } : {}),
      eval_us: evalUs,
    });
    ctx.policy = { decisionId, revision: bundle.revision, allow };
    if (rejection) return { respond: rejection };
    if (!('decision' in outcome)) return;
    const pick = outcome.decision.route_variant;
    if (pick && ctx.variant && pick !== ctx.variant) {
      if (repicked) return { respond: errors.noAllowedProvider(ctx.model as string, [`policy picked variant ${pick} after ${ctx.variant}`]) };
      const problem = deps.selectVariant ? deps.selectVariant(ctx, pick) : 'variant picks are not wired';
      if (problem) return { respond: errors.noAllowedProvider(ctx.model as string, [problem]) };
      return decide(ctx, true);
    }
    enforce(ctx, outcome.decision);
  }
}
