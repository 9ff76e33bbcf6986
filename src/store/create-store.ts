import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import type { Store } from './store.ts';

export type StoreConfig = { type: 'memory' } | { type: 'redis'; url: string; commandTimeoutMs?: number };

/** Builds the configured store. The clock only matters to the memory store (Redis keeps its own time). */
export function createStore(
  config: StoreConfig,
  deps: { now?: () => number; onError?: (error: Error) => void } = {},
): Store {
  switch (config.type) {
    case 'memory':
      return new MemoryStore({ now: deps.now });
    case 'redis':
      return new RedisStore({ url: config.url, commandTimeoutMs: config.commandTimeoutMs, onError: deps.onError });
  }
}
