import type { SemanticRecord } from './cache-backend.ts';
import { nearMissReason, type TextFeatures } from './near-miss.ts';

export interface SemanticMatch {
  key: string;
  similarity: number;
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -1;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/**
 * The nearest stored question that is close enough and passes the near-miss checks. A namespace holds one tenant
 * scope's questions for one model and parameter set (at most a few thousand), so an exact scan of unit vectors is
 * both simpler and, at this size, about as fast as an approximate HNSW index, with no native addon and no index
 * to rebuild when another Tollgate process adds a question.
 */
export function bestMatch(records: readonly SemanticRecord[], vector: Float32Array, features: TextFeatures, threshold: number): SemanticMatch | null {
  const candidates: SemanticMatch[] = [];
  for (const record of records) {
    const similarity = dot(record.vector, vector);
    if (similarity >= threshold && nearMissReason(record.features, features) === null) candidates.push({ key: record.key, similarity });
  }
  if (candidates.length === 0) return null;
  return candidates.reduce((best, next) => (next.similarity > best.similarity ? next : best));
}
