import type { CacheBackend, CacheLimits, SemanticRecord } from './cache-backend.ts';
import type { CacheEntry } from './cache-entry.ts';
import { emptyOutcomes, type OutcomeCounts } from './error-bound.ts';

interface Slot {
  entry: CacheEntry;
  bytes: number;
}

/**
 * The embedded cache for a one-machine run (`npm start`): a Map in least-recently-used order, bounded by entries
 * and by the JSON size of what it holds. Entries past their stale window go first, then the least recently used.
 */
export class MemoryCacheBackend implements CacheBackend {
  readonly kind = 'memory' as const;
  private readonly slots = new Map<string, Slot>();
  private readonly namespaces = new Map<string, Map<string, SemanticRecord>>();
  private readonly calibration = new Map<string, OutcomeCounts>();
  private bytes = 0;
  private readonly limits: CacheLimits;
  private readonly now: () => number;

  constructor(limits: CacheLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.slots.size, bytes: this.bytes };
  }

  async get(key: string): Promise<CacheEntry | null> {
    const slot = this.slots.get(key);
    if (!slot) return null;
    if (slot.entry.staleUntil <= this.now()) {
      this.remove(key);
      return null;
    }
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot.entry;
  }

  async put(key: string, entry: CacheEntry, semantic?: { namespace: string; record: SemanticRecord }): Promise<void> {
    const bytes = Buffer.byteLength(JSON.stringify(entry));
    if (bytes > this.limits.maxBytes) return;
    this.remove(key);
    this.slots.set(key, { entry, bytes });
    this.bytes += bytes;
    if (semantic) {
      let records = this.namespaces.get(semantic.namespace);
      if (!records) this.namespaces.set(semantic.namespace, (records = new Map()));
      records.delete(key);
      records.set(key, semantic.record);
      while (records.size > this.limits.maxRecordsPerNamespace) records.delete(records.keys().next().value as string);
    }
    this.evict();
  }

  async semanticRecords(namespace: string): Promise<SemanticRecord[]> {
    const records = this.namespaces.get(namespace);
    if (!records) return [];
    // Questions whose answer was evicted are dropped here rather than on every eviction.
    for (const key of records.keys()) if (!this.slots.has(key)) records.delete(key);
    if (records.size === 0) this.namespaces.delete(namespace);
    return [...records.values()];
  }

  async outcomes(scope: string): Promise<OutcomeCounts> {
    const counts = this.calibration.get(scope) ?? emptyOutcomes();
    return { agreed: [...counts.agreed], disagreed: [...counts.disagreed] };
  }

  async recordOutcome(scope: string, bucket: number, agreed: boolean): Promise<void> {
    let counts = this.calibration.get(scope);
    if (!counts) this.calibration.set(scope, (counts = emptyOutcomes()));
    const row = agreed ? counts.agreed : counts.disagreed;
    row[bucket] = (row[bucket] ?? 0) + 1;
  }

  async close(): Promise<void> {
    this.calibration.clear();
    this.slots.clear();
    this.namespaces.clear();
    this.bytes = 0;
  }

  private evict(): void {
    const now = this.now();
    for (const [key, slot] of this.slots) if (slot.entry.staleUntil <= now) this.remove(key);
    // Map iteration order is insertion order, and a read re-inserts: the first key is the least recently used.
    while (this.slots.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes) {
      this.remove(this.slots.keys().next().value as string);
    }
  }

  private remove(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    this.bytes -= slot.bytes;
  }
}
