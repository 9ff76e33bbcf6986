import type { ProviderConfig } from '../config/types.ts';
import { openaiAdapter } from './openai/adapter.ts';
import type { ProviderAdapter } from './provider-adapter.ts';

/** Provider wire API → adapter. Adding a provider API adds a folder and one line here. */
export const providerAdapters: Record<ProviderConfig['type'], ProviderAdapter> = {
  openai: openaiAdapter,
};
