import { nearMissReason, textFeatures, type NearMissReason } from './near-miss.ts';
import { bestMatch } from './semantic-index.ts';

/** What the semantic cache decides for one pair: `a` stored, `b` asked, in the same namespace. */
export interface Judgement {
  hit: boolean;
  similarity: number;
  /** Why: "similar" for a hit, "below_threshold", or the near-miss check that refused it. */
  reason: 'similar' | 'below_threshold' | NearMissReason;
}

/**
 * The cache's own decision (bestMatch, the function a lookup runs) for a stored question `a` and an asked question
 * `b` with their embeddings, so `tollgate cache-judge` and the benchmarks report exactly what the gateway does.
 */
export function judgePair(a: { text: string; vector: Float32Array }, b: { text: string; vector: Float32Array }, threshold: number): Judgement {
  const stored = { key: 'a', vector: a.vector, features: textFeatures(a.text) };
  const askedFeatures = textFeatures(b.text);
  const match = bestMatch([stored], b.vector, askedFeatures, threshold);
  let similarity = 0;
  for (let i = 0; i < a.vector.length; i += 1) similarity += (a.vector[i] as number) * (b.vector[i] as number);
  similarity = Math.round(similarity * 10_000) / 10_000;
  if (match) return { hit: true, similarity, reason: 'similar' };
  if (similarity < threshold) return { hit: false, similarity, reason: 'below_threshold' };
  return { hit: false, similarity, reason: nearMissReason(stored.features, askedFeatures) ?? 'below_threshold' };
}
