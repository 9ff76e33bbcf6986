import type { Catalog } from '../config/catalog.ts';
import type { RouteCandidate } from '../pipeline/context.ts';

/**
 * A catalog's candidates per model, and a virtual model's union of its members' candidates, computed once per
 * config (a catalog never changes; a reload brings a new one): routing strategies look at every member on every
 * request. Read-only and shared: a request copies before it narrows.
 */
const perCatalog = new WeakMap<Catalog, Map<string, readonly RouteCandidate[]>>();

function memo(catalog: Catalog, key: string, compute: () => RouteCandidate[]): readonly RouteCandidate[] {
  let byKey = perCatalog.get(catalog);
  if (!byKey) perCatalog.set(catalog, (byKey = new Map()));
  let candidates = byKey.get(key);
  if (!candidates) byKey.set(key, (candidates = compute()));
  return candidates;
}

export function candidatesOf(catalog: Catalog, model: string): readonly RouteCandidate[] {
  return memo(catalog, `m:${model}`, () => catalog.candidates(model));
}

/** Every member's candidates, in member order (the same provider may appear once per member it serves). */
export function unionCandidates(catalog: Catalog, virtualModel: string, members: readonly string[]): readonly RouteCandidate[] {
  return memo(catalog, `v:${virtualModel}`, () => members.flatMap((member) => [...candidatesOf(catalog, member)]));
}
