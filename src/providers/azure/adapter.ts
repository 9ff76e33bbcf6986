import type { AzureProviderConfig } from '../../config/types.ts';
import { openaiAdapter, openAICompatibleBody } from '../openai/adapter.ts';
import type { ProviderAdapter, TranslationTarget } from '../provider-adapter.ts';

/** The operation segment after `/openai/deployments/{deployment}` for each gateway endpoint. */
const OPERATIONS = { chat: 'chat/completions', embeddings: 'embeddings' } as const;

function azureConfig(target: TranslationTarget): AzureProviderConfig {
  if (target.provider.type !== 'azure') throw new Error(`provider ${target.providerName} is not an Azure OpenAI provider`);
  return target.provider;
}

/**
 * The deployment serving a model: Azure routes by deployment name, not by the body's `model`. Own keys only, so a
 * model named like an Object.prototype member (`constructor`) cannot pick up something that is not a deployment.
 */
export function azureDeployment(provider: AzureProviderConfig, upstreamModel: string): string {
  const deployments = provider.deployments ?? {};
  return Object.hasOwn(deployments, upstreamModel) ? (deployments[upstreamModel] ?? upstreamModel) : upstreamModel;
}

/**
 * Azure OpenAI: OpenAI's wire format behind per-deployment URLs, versioned by the `api-version` query and keyed by
 * the `api-key` header. `base_url` is the resource endpoint (`https://<resource>.openai.azure.com`), without `/openai`.
 *
 * Streams need `api_version` 2024-09-01-preview / 2024-10-21 or later: older versions reject `stream_options`, which
 * Tollgate always sends to meter streamed usage.
 */
export const azureAdapter: ProviderAdapter = {
  translateRequest(input) {
    const { target } = input;
    const provider = azureConfig(target);
    const deployment = encodeURIComponent(azureDeployment(provider, target.upstreamModel));
    const query = new URLSearchParams({ 'api-version': provider.api_version });
    const headers: Record<string, string> = {};
    // Header, never query: a key in a URL ends up in access logs.
    if (target.credential) headers['api-key'] = target.credential;
    return {
      path: `${target.basePath}/openai/deployments/${deployment}/${OPERATIONS[input.endpoint]}?${query}`,
      headers,
      // Azure would try an Authorization header as an Entra ID token; the client's must never leave the gateway.
      removeHeaders: ['authorization'],
      // Azure ignores `model` (the deployment decides); openAICompatibleBody sets it harmlessly to the upstream name.
      body: openAICompatibleBody(input),
    };
  },

  // Azure answers in OpenAI's format, including errors (`{"error":{"code","message",…}}`): the OpenAI reader keeps
  // Azure's message and code (`429`, `content_filter`, `DeploymentNotFound`), and content-filter annotations on
  // success (`prompt_filter_results`, `content_filter_results`) pass through untouched. Stream usage stripping only
  // drops chunks that carry a usage object and no choices, so Azure's leading `choices: []` chunk holding
  // `prompt_filter_results` (no usage) reaches the client.
  // Azure OpenAI sends retry-after-ms besides retry-after (the OpenAI SDKs prefer it).
  retryAfterInMs: true,

  translateResponse(info) {
    return openaiAdapter.translateResponse(info);
  },
};
