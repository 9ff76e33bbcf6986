import { describe } from 'vitest';
import { MemoryCacheBackend } from '../../../src/cache/memory-backend.ts';
import { cacheBackendContract } from './backend-contract.ts';

describe('memory cache backend', () => {
  cacheBackendContract(async (limits) => new MemoryCacheBackend({ ...limits, maxRecordsPerNamespace: 100 }), async () => {});
});
