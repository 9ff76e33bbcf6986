import type { TollgateConfig } from '../config/types.ts';
import { RedisStore } from '../store/redis-store.ts';
import type { Store } from '../store/store.ts';
import type { CacheBackend, CacheLimits } from './cache-backend.ts';
import { MemoryCacheBackend } from './memory-backend.ts';
import { RedisCacheBackend } from './redis-backend.ts';

/** Questions kept per semantic namespace: enough for a busy FAQ, small enough for an exact scan per lookup. */
const MAX_RECORDS_PER_NAMESPACE = 2000;

export function cacheLimits(config: TollgateConfig): CacheLimits {
  return { maxEntries: config.cache.max_entries, maxBytes: config.cache.max_bytes, maxRecordsPerNamespace: MAX_RECORDS_PER_NAMESPACE };
}

/**
 * The cache backend the config asks for: Redis (through the store's own client, so one connection serves both)
 * when the store is Redis, else the embedded in-memory cache.
 */
export function createCacheBackend(config: TollgateConfig, store: Store, now: () => number = Date.now): CacheBackend {
  const kind = config.cache.backend ?? store.kind;
  if (kind === 'redis') {
    if (!(store instanceof RedisStore)) throw new Error('cache.backend redis needs the Redis store');
    return new RedisCacheBackend(store.client, cacheLimits(config), now);
  }
  return new MemoryCacheBackend(cacheLimits(config), now);
}
