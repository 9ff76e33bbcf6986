import type { CostRoute, ModelConfig } from '../config/types.ts';
import type { RouteCandidate } from '../pipeline/context.ts';
import type { PriceTable } from '../pricing/price-table.ts';
import type { Capability } from './capabilities.ts';

/** What a cost choice knows about the request, computed once by the caller. */
export interface CostRequest {
  /** Capabilities the request body needs (tools, vision…). */
  needs: readonly Capability[];
  /** Context the request needs in tokens (prompt + output), for targets that declare a window. */
  contextNeeded: number;
  promptTokens: number;
  outputTokens: number;
  /** Pricing date (ms). */
  at: number;
}

export interface CostMember {
  name: string;
  config: ModelConfig;
  /** The model's candidates (catalog order), each already marked allowed or not by tenant config, kill switches and policy. */
  candidates: readonly RouteCandidate[];
}

export type CostChoice =
  | { model: string; serving: RouteCandidate[]; ineligible: RouteCandidate[]; nanoUsd: bigint }
  | { none: string[] };

/**
 * Cost routing: the cheapest member model that meets the route's declared constraints and the request's needs.
 * A target is eligible when policy and tenant config allow it, it is in the route's region, it declares every
 * capability the route requires and the request needs (a capability counts only when declared: the route promises
 * it), its window fits the route's minimum (declared) and the request (when declared). A model's price is its first
 * eligible target's (the one Envoy tries first) for this request's estimated tokens; an unpriced target is never
 * chosen, as its cost is unknown. Ties keep the route's order. Pure: no I/O, a loop over a few models.
 */
export function chooseCheapest(route: CostRoute, members: readonly CostMember[], allowed: (candidate: RouteCandidate) => boolean, prices: PriceTable, request: CostRequest): CostChoice {
  const reasons: string[] = [];
  let best: { model: string; serving: RouteCandidate[]; ineligible: RouteCandidate[]; nanoUsd: bigint } | null = null;
  for (const member of members) {
    if ((member.config.quality_tier ?? 0) < (route.min_quality_tier ?? 0)) {
      reasons.push(`${member.name} is below quality tier ${route.min_quality_tier}`);
      continue;
    }
    const serving: RouteCandidate[] = [];
    const ineligible: RouteCandidate[] = [];
    for (const candidate of member.candidates) {
      const why = targetProblem(route, candidate, request);
      if (why !== null || !allowed(candidate)) {
        ineligible.push(candidate);
        if (why !== null) reasons.push(`${member.name} on ${candidate.provider}: ${why}`);
      } else serving.push(candidate);
    }
    const first = serving[0];
    if (!first) continue;
    const entry = prices.lookup({ provider: first.provider, vendor: first.vendor, model: first.model }, request.at);
    if (!entry) {
      reasons.push(`${member.name} on ${first.provider} has no price`);
      continue;
    }
    const tier = entry.longContext && request.promptTokens > entry.longContext.abovePromptTokens ? entry.longContext.prices : entry.prices;
    const nanoUsd = BigInt(request.promptTokens) * tier.input + BigInt(request.outputTokens) * tier.output;
    if (best === null || nanoUsd < best.nanoUsd) best = { model: member.name, serving, ineligible, nanoUsd };
  }
  return best ?? { none: reasons };
}

function targetProblem(route: CostRoute, candidate: RouteCandidate, request: CostRequest): string | null {
  if (route.region !== undefined && candidate.region !== route.region) return `not in region ${route.region}`;
  const declared = candidate.capabilities;
  for (const capability of route.capabilities ?? []) if (!declared?.has(capability)) return `does not declare ${capability}`;
  for (const capability of request.needs) if (!declared?.has(capability)) return `does not declare ${capability}`;
  const window = candidate.contextWindow ?? null;
  if (route.min_context_window !== undefined && (window === null || window < route.min_context_window)) return `context window below ${route.min_context_window}`;
  if (window !== null && request.contextNeeded > window) return `context window of ${window} tokens is too small`;
  return null;
}
