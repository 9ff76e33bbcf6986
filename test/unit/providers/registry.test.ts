import { describe, expect, it } from 'vitest';
import type { ProviderConfig, ProviderType } from '../../../src/config/types.ts';
import { PROVIDER_REQUEST_HEADERS, providerAdapter } from '../../../src/providers/registry.ts';

const configs: Record<ProviderType, ProviderConfig> = {
  openai: { type: 'openai', base_url: 'https://api.openai.com/v1' },
  azure: { type: 'azure', base_url: 'https://x.openai.azure.com', api_version: '2024-10-21', deployments: {} },
  anthropic: { type: 'anthropic', base_url: 'https://api.anthropic.com/v1', anthropic_version: '2023-06-01', default_max_tokens: 100 },
  gemini: { type: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta' },
};

describe('provider adapters', () => {
  // Envoy keeps one attempt's header changes for the next; the attempt handler removes PROVIDER_REQUEST_HEADERS
  // it does not set, so a header outside the list would follow a fallback to the next provider.
  for (const [type, provider] of Object.entries(configs) as Array<[ProviderType, ProviderConfig]>) {
    it(`${type}: sets only headers the attempt handler knows to clear`, () => {
      for (const stream of [false, true]) {
        const outgoing = providerAdapter(type).translateRequest({
          endpoint: 'chat',
          body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...(stream ? { stream: true } : {}) },
          stream,
          target: { providerName: type, provider, basePath: new URL(provider.base_url).pathname.replace(/\/$/, ''), upstreamModel: 'm', credential: 'secret' },
        });
        for (const name of Object.keys(outgoing.headers)) expect(PROVIDER_REQUEST_HEADERS).toContain(name);
        expect(JSON.stringify(outgoing.path)).not.toContain('secret');
        expect(Object.values(outgoing.headers)).toContainEqual(expect.stringContaining('secret'));
      }
    });
  }
});
