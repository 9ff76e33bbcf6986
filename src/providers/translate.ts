import type { ResolvedProvider } from '../config/catalog.ts';
import type { CredentialResolver } from './credentials.ts';
import type { OutgoingRequest, TranslateRequestInput } from './provider-adapter.ts';
import { providerAdapter } from './registry.ts';

/**
 * The OpenAI request as one provider must receive it: that provider's adapter, its base path and its credential.
 * Used wherever a request is bound to a provider: the route stage (one candidate left) and the per-attempt handler
 * (the provider Envoy picked in a chain).
 */
export function translateForProvider(
  provider: ResolvedProvider,
  upstreamModel: string,
  request: Omit<TranslateRequestInput, 'target'>,
  credentials: CredentialResolver,
): OutgoingRequest {
  return providerAdapter(provider.config.type).translateRequest({
    ...request,
    target: {
      providerName: provider.name,
      provider: provider.config,
      basePath: provider.basePath,
      upstreamModel,
      credential: credentials.get(provider.config),
    },
  });
}
