import type { ProviderType } from '../config/types.ts';
import { azureAdapter } from './azure/adapter.ts';
import { anthropicAdapter } from './anthropic/adapter.ts';
import { geminiAdapter } from './gemini/adapter.ts';
import { openaiAdapter } from './openai/adapter.ts';
import type { ProviderAdapter } from './provider-adapter.ts';

/** Provider wire API → adapter. Adding a provider API adds a folder and one line here. */
const providerAdapters: Partial<Record<ProviderType, ProviderAdapter>> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  azure: azureAdapter,
  gemini: geminiAdapter,
};

/**
 * Every request header an adapter may set (credentials, API versions). Envoy keeps the header changes of one attempt
 * for the next: on a fallback, whatever the previous provider's adapter set must be removed, or one provider's key
 * would travel to another. A unit test checks each adapter stays within this list.
 */
export const PROVIDER_REQUEST_HEADERS: readonly string[] = [
  'authorization',
  'x-api-key',
  'anthropic-version',
  'anthropic-beta',
  'api-key',
  'x-goog-api-key',
  'content-type',
];

export function providerAdapter(type: ProviderType): ProviderAdapter {
  const adapter = providerAdapters[type];
  if (!adapter) throw new Error(`no adapter for provider type ${type}`);
  return adapter;
}
