import { createHash } from 'node:crypto';
import type { RedisClient } from '../store/redis-store.ts';
import type { RoundTrip } from '../store/round-trip.ts';
import { decodeRecord, encodeRecord, type CacheBackend, type CacheLimits, type SemanticRecord } from './cache-backend.ts';
import type { CacheEntry } from './cache-entry.ts';
import { BUCKETS, emptyOutcomes, type OutcomeCounts } from './error-bound.ts';

/**
 * Why an explicit index rather than Redis' own eviction: `maxmemory-policy` is one setting for the whole server,
 * which also holds keys, quotas and budgets that must never be evicted, and logical databases do not exist in
 * Redis Cluster. So every entry expires by TTL (at the end of its stale window), and a sorted set scored by that
 * time, a hash of entry sizes and a byte counter bound the cache: each write purges what has expired, then evicts
 * the entries closest to expiry until count and bytes fit. All keys share the `{tollgate-cache}` hash tag, so the
 * script's keys live in one Cluster slot (the cache then lives on one shard: it is bounded, and that is the price
 * of atomic eviction).
 */
const TAG = 'tollgate:{tollgate-cache}';
const ENTRY_PREFIX = `${TAG}:e:`;
const INDEX = `${TAG}:index`;
const SIZES = `${TAG}:sizes`;
const BYTES = `${TAG}:bytes`;
const NAMESPACE_PREFIX = `${TAG}:s:`;
/** Verified outcomes per calibration scope: a hash of `a<bucket>` / `d<bucket>` counters. Kept 30 days after the last. */
const OUTCOMES_PREFIX = `${TAG}:o:`;
const OUTCOMES_TTL_SECONDS = 30 * 86_400;
/**
 * Namespaces whose decoded records one process keeps (each at most maxRecordsPerNamespace records, ~1.6 KiB each
 * with a 384-dimension vector): the per-process copy stays bounded however many tenants and system prompts there are.
 */
export const MAX_DECODED_NAMESPACES = 256;

const PUT_LUA = `
local prefix, member, value = ARGV[1], ARGV[2], ARGV[3]
local stale_until, ttl_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_entries, max_bytes, now = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
-- Every indexed member has its size in KEYS[2], so a member without one has nothing else to drop either.
local function drop(m)
  local size = redis.call('HGET', KEYS[2], m)
  if not size then return nil end
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[1], m)
  redis.call('DEL', prefix .. m)
  return redis.call('DECRBY', KEYS[3], size)
end
drop(member)
redis.call('SET', prefix .. member, value, 'PX', ttl_ms)
redis.call('ZADD', KEYS[1], stale_until, member)
redis.call('HSET', KEYS[2], member, #value)
local total = redis.call('INCRBY', KEYS[3], #value)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 200)) do total = drop(m) or total end
-- Counts are read again only when over a bound: a write that fits costs no ZCARD/GET round of its own.
local entries = redis.call('ZCARD', KEYS[1])
local guard = 0
while guard < 1000 and (entries > max_entries or total > max_bytes) do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not oldest then break end
  total = drop(oldest) or total
  entries = entries - 1
  guard = guard + 1
end
return total
`;

/** Adds a question to its namespace; the namespace lives as long as its newest answer, and keeps the newest N. */
const ADD_RECORD_LUA = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do redis.call('HDEL', KEYS[1], m) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const SCRIPTS = { put: { lua: PUT_LUA, sha: sha1(PUT_LUA) }, addRecord: { lua: ADD_RECORD_LUA, sha: sha1(ADD_RECORD_LUA) } };

/** The shared cache of every Tollgate process on one Redis; uses the store's client (no second connection). */
export class RedisCacheBackend implements CacheBackend {
  readonly kind = 'redis' as const;
  private readonly client: RedisClient;
  private readonly limits: CacheLimits;
  private readonly now: () => number;
  /** Decoded semantic records per namespace hash, as last seen in Redis (see semanticRecords). */
  private readonly decoded = new Map<string, Map<string, SemanticRecord>>();

  constructor(client: RedisClient, limits: CacheLimits, now: () => number = Date.now) {
    this.client = client;
    this.limits = limits;
    this.now = now;
  }

  async get(key: string, via: RoundTrip | null = null): Promise<CacheEntry | null> {
    const text = (via ? await via.call(['get', ENTRY_PREFIX + key]) : await this.client.get(ENTRY_PREFIX + key)) as string | null;
    if (!text) return null;
    try {
      return JSON.parse(text) as CacheEntry;
    } catch {
      return null;
    }
  }

  async put(key: string, entry: CacheEntry, semantic?: { namespace: string; record: SemanticRecord }, via: RoundTrip | null = null): Promise<void> {
    const now = this.now();
    const ttlMs = Math.max(1, Math.ceil(entry.staleUntil - now));
    const stored = this.script('put', [INDEX, SIZES, BYTES], [
      ENTRY_PREFIX, key, JSON.stringify(entry), entry.staleUntil, ttlMs, this.limits.maxEntries, this.limits.maxBytes, now,
    ], via);
    const indexed = semantic
      ? this.script('addRecord', [NAMESPACE_PREFIX + semantic.namespace, `${NAMESPACE_PREFIX + semantic.namespace}:order`], [
        key, encodeRecord(semantic.record), ttlMs, now, this.limits.maxRecordsPerNamespace,
      ], via)
      : null;
    // Both are queued before either is awaited, so with a round trip they leave together.
    const outcomes = await Promise.allSettled([stored, indexed]);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  /**
   * A namespace's questions. Decoded records are kept per process: a lookup reads only the field names (small) and
   * fetches just the records this process has not seen, so a namespace of a thousand questions costs a short HKEYS
   * instead of megabytes of vectors to transfer and decode. Records are immutable once written (a re-put writes a
   * new entry key), and names gone from Redis (expired, evicted) are dropped here too.
   */
  async semanticRecords(namespace: string): Promise<SemanticRecord[]> {
    const hash = NAMESPACE_PREFIX + namespace;
    const names = await this.client.hkeys(hash);
    const known = this.decoded.get(hash) ?? new Map<string, SemanticRecord>();
    const missing = names.filter((name) => !known.has(name));
    if (missing.length > 0) {
      const texts = await this.client.hmget(hash, ...missing);
      missing.forEach((name, index) => {
        const record = texts[index] ? decodeRecord(texts[index] as string) : null;
        if (record) known.set(name, record);
      });
    }
    const present = new Set(names);
    for (const name of known.keys()) if (!present.has(name)) known.delete(name);
    // Re-inserted at the end: the Map's order is the namespaces' last use, and the least recently used goes first
    // once the per-process copy holds more namespaces than it may.
    this.decoded.delete(hash);
    if (known.size > 0) this.decoded.set(hash, known);
    while (this.decoded.size > MAX_DECODED_NAMESPACES) this.decoded.delete(this.decoded.keys().next().value as string);
    return [...known.values()];
  }

  async outcomes(scope: string): Promise<OutcomeCounts> {
    const fields = await this.client.hgetall(OUTCOMES_PREFIX + scope);
    const counts = emptyOutcomes();
    for (const [field, value] of Object.entries(fields)) {
      const bucket = Number(field.slice(1));
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS) continue;
      const row = field[0] === 'a' ? counts.agreed : field[0] === 'd' ? counts.disagreed : null;
      if (row) row[bucket] = Number(value) || 0;
    }
    return counts;
  }

  async recordOutcome(scope: string, bucket: number, agreed: boolean): Promise<void> {
    const key = OUTCOMES_PREFIX + scope;
    await this.client.multi().hincrby(key, `${agreed ? 'a' : 'd'}${bucket}`, 1).expire(key, OUTCOMES_TTL_SECONDS).exec();
  }

  /** How many namespaces this process keeps decoded (bounded by MAX_DECODED_NAMESPACES). */
  get decodedNamespaces(): number {
    return this.decoded.size;
  }

  async close(): Promise<void> {
    // The client belongs to the store, which closes it.
  }

  private async script(name: keyof typeof SCRIPTS, keys: string[], args: Array<string | number>, via: RoundTrip | null = null): Promise<unknown> {
    const { lua, sha } = SCRIPTS[name];
    try {
      if (via) return await via.call(['evalsha', sha, keys.length, ...keys, ...args]);
      return await this.client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      return this.client.eval(lua, keys.length, ...keys, ...args);
    }
  }
}
