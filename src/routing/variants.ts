import type { ModelConfig, ModelVariant } from '../config/types.ts';
import type { Tenant } from '../pipeline/context.ts';

/**
 * A/B tests: an alias with `variants` resolves to one of them per caller. The choice is a hash of the alias and the
 * caller (user, else app; or app/team/org as configured), so the same caller gets the same variant on every request
 * and in every Tollgate process, with no state; weights are shares of the callers. A weight change (config reload)
 * moves only some callers.
 */
export function variantKey(model: ModelConfig, tenant: Tenant): string {
  const app = `${tenant.org}/${tenant.team}/${tenant.app}`;
  switch (model.variant_key ?? 'user') {
    case 'user':
      return tenant.user ? `${tenant.org}/user/${tenant.user}` : app;
    case 'app':
      return app;
    case 'team':
      return `${tenant.org}/${tenant.team}`;
    case 'org':
      return tenant.org;
  }
}

/** FNV-1a, 32 bits: fast, stable across processes and versions (unlike a seeded hash). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The caller's variant among the eligible ones (those the caller's team may use), or null when none is. */
export function chooseVariant(alias: string, key: string, variants: readonly ModelVariant[], eligible: (variant: ModelVariant) => boolean): ModelVariant | null {
  let total = 0;
  for (const variant of variants) if (variant.weight > 0 && eligible(variant)) total += variant.weight;
  if (total === 0) return null;
  let point = fnv1a(`${alias}\n${key}`) % total;
  for (const variant of variants) {
    if (variant.weight <= 0 || !eligible(variant)) continue;
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  return null;
}
