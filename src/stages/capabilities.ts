import { errors } from '../errors/errors.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { CAPABILITY_PARAM, contextNeeded, requiredCapabilities, type Capability } from '../routing/capabilities.ts';
import { maxDimensions } from '../routing/embedding-dimensions.ts';

/** Embeddings `dimensions` over what every candidate model accepts: the provider's own 400, without the call. */
function checkDimensions(ctx: RequestContext): StageResult {
  const asked = ctx.body?.dimensions;
  if (typeof asked !== 'number') return;
  const most = maxDimensions(ctx.routing.candidates.map((candidate) => candidate.model));
  if (most === null || asked <= most) return;
  return {
    respond: most === 0
      ? errors.badRequest('This model does not support specifying dimensions.', 'dimensions')
      : errors.badRequest(`Invalid 'dimensions': integer above maximum value. Expected a value <= ${most}, but got ${asked} instead.`, 'dimensions'),
  };
}

/**
 * Capability routing: a chat request that needs tools, images, a JSON schema, reasoning or a long context goes only
 * to the candidates that declare it (config `capabilities` / `context_window` on the model or the target). The
 * others are excluded like any exclusion (with a reason), so fallback, retries and load balancing only ever pick
 * among capable candidates; when none is capable the client gets a 400 in the OpenAI error shape. Runs after
 * resolve, before policy: policy then decides among what could serve at all. Candidates that declare nothing are
 * not constrained, and a model none of whose candidates declares anything costs one loop over its candidates.
 */
export function capabilitiesStage(): Stage {
  return {
    name: 'capabilities',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.endpoint === 'embeddings') return checkDimensions(ctx);
      if (ctx.endpoint !== 'chat' || !ctx.body || !ctx.model) return;
      // A virtual model's candidates belong to several models: its strategy checks capabilities model by model.
      if (ctx.routing.choices) return;
      const candidates = ctx.routing.candidates;
      let declared = false;
      let smallestWindow = Number.POSITIVE_INFINITY;
      for (const candidate of candidates) {
        if (candidate.capabilities) declared = true;
        if (candidate.contextWindow) {
          declared = true;
          if (candidate.contextWindow < smallestWindow) smallestWindow = candidate.contextWindow;
        }
      }
      if (!declared) return;
      const needs = requiredCapabilities(ctx.body);
      const context = smallestWindow < Number.POSITIVE_INFINITY ? contextNeeded(ctx.body, ctx.bodyBytes, smallestWindow) : 0;
      let capable = 0;
      let missing: Capability | 'context_window' | null = null;
      let largestWindow = 0;
      for (const candidate of candidates) {
        let lacks: Capability | 'context_window' | null = null;
        if (candidate.capabilities) lacks = needs.find((need) => !candidate.capabilities?.has(need)) ?? null;
        if (!lacks && candidate.contextWindow && context > candidate.contextWindow) lacks = 'context_window';
        if (candidate.contextWindow && candidate.contextWindow > largestWindow) largestWindow = candidate.contextWindow;
        if (!lacks) {
          capable++;
          continue;
        }
        missing ??= lacks;
        if (!ctx.routing.excludedProviders.has(candidate.provider)) {
          ctx.routing.excludedProviders.add(candidate.provider);
          ctx.routing.reasons.push(lacks === 'context_window'
            ? `${candidate.provider}/${candidate.model} has a context window of ${candidate.contextWindow} tokens`
            : `${candidate.provider}/${candidate.model} does not declare ${lacks}`);
        }
      }
      if (capable > 0 || !missing) return;
      if (missing === 'context_window') return { respond: errors.contextTooLong(ctx.model, largestWindow, context) };
      return { respond: errors.capabilityNotSupported(ctx.model, missing, CAPABILITY_PARAM[missing]) };
    },
  };
}
