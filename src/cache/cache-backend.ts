import type { CacheEntry } from './cache-entry.ts';
import type { RoundTrip } from '../store/round-trip.ts';
import type { TextFeatures } from './near-miss.ts';
import type { OutcomeCounts } from './error-bound.ts';

/** A stored question of the semantic cache: its embedding and the facts a paraphrase must keep. */
export interface SemanticRecord {
  /** The exact key of the entry holding the answer. */
  key: string;
  vector: Float32Array;
  features: TextFeatures;
}

/**
 * Where cache entries live. Both backends bound the cache by entry count and bytes and evict the entries closest
 * to the end of their life first (expired ones before any other). An entry is kept until `staleUntil`; whether it
 * is still fresh (`expiresAt`) is the caller's question.
 */
export interface CacheBackend {
  readonly kind: 'memory' | 'redis';
  /** `via`: the request's round trip, when the backend's commands may join it (Redis); sent by whoever needs a reply. */
  get(key: string, via?: RoundTrip | null): Promise<CacheEntry | null>;
  /** Stores an entry and, for the semantic cache, its question in the namespace's index. */
  put(key: string, entry: CacheEntry, semantic?: { namespace: string; record: SemanticRecord }, via?: RoundTrip | null): Promise<void>;
  /** Every question stored in a namespace (one tenant scope + model + parameters). */
  semanticRecords(namespace: string): Promise<SemanticRecord[]>;
  /** Verified outcomes of a calibration scope (src/cache/error-bound.ts), shared by every process on the backend. */
  outcomes(scope: string): Promise<OutcomeCounts>;
  /** Counts one verified outcome: the best match's similarity bucket, and whether the answers agreed. */
  recordOutcome(scope: string, bucket: number, agreed: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
  /** Questions kept per semantic namespace; the oldest go first. */
  maxRecordsPerNamespace: number;
}

/** Compact text form of a semantic record (the vector as base64 float32). */
export function encodeRecord(record: SemanticRecord): string {
  const bytes = Buffer.from(record.vector.buffer, record.vector.byteOffset, record.vector.byteLength);
  return JSON.stringify({ k: record.key, v: bytes.toString('base64'), f: record.features });
}

export function decodeRecord(text: string): SemanticRecord | null {
  try {
    const raw = JSON.parse(text) as { k: string; v: string; f: TextFeatures };
    const bytes = Buffer.from(raw.v, 'base64');
    const vector = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { key: raw.k, vector, features: raw.f };
  } catch {
    return null;
  }
}
