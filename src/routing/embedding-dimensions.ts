/**
 * The largest `dimensions` each provider's embeddings models accept (0: the parameter is not supported), from the
 * providers' model documentation. A request over every candidate's limit is answered here, as the provider would,
 * instead of spending a call on a certain 400. Models not listed are not constrained.
 */
export const EMBEDDING_MAX_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 0,
  'text-embedding-004': 768,
  'gemini-embedding-001': 3072,
};

/** The most dimensions any of these upstream models accepts; null when one of them is not listed (no constraint). */
export function maxDimensions(models: readonly string[]): number | null {
  let most = -1;
  for (const model of models) {
    const limit = EMBEDDING_MAX_DIMENSIONS[model];
    if (limit === undefined) return null;
    most = Math.max(most, limit);
  }
  return most < 0 ? null : most;
}
