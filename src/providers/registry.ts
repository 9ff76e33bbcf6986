import type { ProviderType } from '../config/types.ts';
import { openaiAdapter } from './openai/adapter.ts';
import type { ProviderAdapter } from './provider-adapter.ts';

/** Provider wire API → adapter. Adding a provider API adds a folder and one line here. */
const providerAdapters: Partial<Record<ProviderType, ProviderAdapter>> = {
  openai: openaiAdapter,
};

export function providerAdapter(type: ProviderType): ProviderAdapter {
  const adapter = providerAdapters[type];
  if (!adapter) throw new Error(`no adapter for provider type ${type}`);
  return adapter;
}
