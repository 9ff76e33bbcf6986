import type { ResolvedProvider } from '../config/catalog.ts';
import { refuseAnthropicOnly, splitMessagesFields } from '../messages/native-fields.ts';
import type { CredentialResolver } from './credentials.ts';
import type { CountTokensInput, OutgoingRequest, TranslateRequestInput } from './provider-adapter.ts';
import { providerAdapter } from './registry.ts';

/** Where a request goes: the provider, its base path, the model it calls it, and a credential (in turn, when several). */
function targetOf(provider: ResolvedProvider, upstreamModel: string, credentials: CredentialResolver): TranslateRequestInput['target'] {
  return {
    providerName: provider.name,
    provider: provider.config,
    basePath: provider.basePath,
    upstreamModel,
    credential: credentials.get(provider.config),
  };
}

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
  const adapter = providerAdapter(provider.config.type);
  // A /v1/messages client's Anthropic-only fields never reach a provider as a chat field: the adapter gets them
  // apart, and a provider that does not speak Anthropic's API refuses the ones only Anthropic can serve.
  const { body, fields } = splitMessagesFields(request.body);
  if (fields && !adapter.passthroughMessages) refuseAnthropicOnly(fields, provider.config.type);
  return adapter.translateRequest({
    ...request,
    body,
    ...(fields ? { messagesFields: fields } : {}),
    target: targetOf(provider, upstreamModel, credentials),
  });
}

/**
 * A /v1/messages body as is (model aside) for a provider that speaks Anthropic's Messages API natively; null for
 * any other provider, which gets the chat form translated instead.
 */
export function passthroughForProvider(
  provider: ResolvedProvider,
  upstreamModel: string,
  body: Readonly<Record<string, unknown>>,
  credentials: CredentialResolver,
): OutgoingRequest | null {
  const adapter = providerAdapter(provider.config.type);
  if (!adapter.passthroughMessages) return null;
  return adapter.passthroughMessages(body, {
    providerName: provider.name,
    provider: provider.config,
    basePath: provider.basePath,
    upstreamModel,
    credential: credentials.get(provider.config),
  });
}

/**
 * A count_tokens request for a provider that counts prompts itself (Anthropic); null for any other provider, whose
 * count the gateway estimates.
 */
export function countTokensForProvider(
  provider: ResolvedProvider,
  upstreamModel: string,
  input: Omit<CountTokensInput, 'target'>,
  credentials: CredentialResolver,
): OutgoingRequest | null {
  const adapter = providerAdapter(provider.config.type);
  if (!adapter.countTokens) return null;
  // Counting asks nothing of the provider but a count: no field is refused here (see translateForProvider).
  const { body, fields } = splitMessagesFields(input.body);
  return adapter.countTokens({
    ...input,
    body,
    ...(fields ? { messagesFields: fields } : {}),
    target: targetOf(provider, upstreamModel, credentials),
  });
}
