import { createHash } from 'node:crypto';
import type { ModelConfig } from '../config/types.ts';

/**
 * A fallback chain (a model served by several providers in order) becomes Envoy clusters whose priorities are the
 * chain's order, so Envoy itself walks the chain on failures. A request may exclude some providers (policy, tenant
 * config, kill switches) and an excluded provider must never be contacted, not even as a fallback: so every subset of
 * the chain that keeps two or more providers gets its own cluster, and the route stage picks the one matching what is
 * allowed. A subset of one provider is simply that provider's own cluster. Subsets are named by a bit mask over the
 * chain's targets (bit i = target i), so the name is stable however the request narrows the chain.
 */
export function chainClusterName(model: string, mask: number): string {
  return `chain_${modelPart(model)}_${mask.toString(2).padStart(2, '0')}`;
}

/**
 * Latency-aware models (load_balancing.policy latency) also get, per subset, one cluster per target that puts that
 * target first and the others behind it as fallbacks: Tollgate picks the fastest target, Envoy still walks the rest
 * on failures, and an excluded provider is never in the cluster.
 */
export function preferredClusterName(model: string, mask: number, preferred: number): string {
  return `${chainClusterName(model, mask)}_via${preferred}`;
}

/**
 * The targets of a subset with the preferred one (index into the model's targets) alone in the first priority and
 * the others after it, in their own priority order.
 */
export function preferFirst<T extends { priority?: number }>(targets: readonly T[], mask: number, preferred: number): T[] {
  const first = targets[preferred] as T;
  const rest = targets.flatMap((target, index) =>
    index !== preferred && (mask & (1 << index)) !== 0 ? [{ ...target, priority: (target.priority ?? index) + 1 }] : []);
  return [{ ...first, priority: 0 }, ...rest];
}

/** The clusters of one subset of a model's targets: the chain, and for a latency-aware model one per preferred target. */
export function subsetClusterNames(model: string, config: ModelConfig, mask: number): string[] {
  const names = [chainClusterName(model, mask)];
  if (config.load_balancing?.policy === 'latency') {
    config.targets.forEach((_, index) => {
      if ((mask & (1 << index)) !== 0) names.push(preferredClusterName(model, mask, index));
    });
  }
  return names;
}

/** The route stage names a cluster on every chained request: the hashed part is computed once per model name. */
const modelParts = new Map<string, string>();

function modelPart(model: string): string {
  let part = modelParts.get(model);
  if (part === undefined) {
    // Model names may hold characters Envoy stats handle badly; a short hash keeps distinct names distinct.
    const readable = model.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
    part = `${readable}_${createHash('sha256').update(model).digest('hex').slice(0, 8)}`;
    modelParts.set(model, part);
  }
  return part;
}

/** The masks of every subset with at least two targets, for a chain of n targets. */
export function chainMasks(targetCount: number): number[] {
  const masks: number[] = [];
  for (let mask = 1; mask < 1 << targetCount; mask++) {
    if (popcount(mask) >= 2) masks.push(mask);
  }
  return masks;
}

export function popcount(mask: number): number {
  let count = 0;
  for (let rest = mask; rest; rest &= rest - 1) count++;
  return count;
}

/** The targets a mask keeps, in chain order. */
export function targetsOf<T>(targets: readonly T[], mask: number): T[] {
  return targets.filter((_, index) => (mask & (1 << index)) !== 0);
}

/**
 * The targets grouped by priority, lowest first: targets with the same `priority` share the load, and a target
 * without one takes its position in the list. Groups are numbered 0, 1, 2… (Envoy's priorities), whatever numbers
 * the config used, so a subset of the chain has no empty priority.
 */
export function priorityGroups<T extends { priority?: number }>(targets: readonly T[]): T[][] {
  const byPriority = new Map<number, T[]>();
  targets.forEach((target, index) => {
    const priority = target.priority ?? index;
    const group = byPriority.get(priority);
    if (group) group.push(target);
    else byPriority.set(priority, [target]);
  });
  return [...byPriority.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** The mask of the targets whose provider is allowed. */
export function maskOf(model: ModelConfig, allowedProviders: ReadonlySet<string>): number {
  let mask = 0;
  model.targets.forEach((target, index) => {
    if (allowedProviders.has(target.provider)) mask |= 1 << index;
  });
  return mask;
}
