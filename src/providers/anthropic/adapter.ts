import type { AnthropicProviderConfig } from '../../config/types.ts';
import { errors } from '../../errors/errors.ts';
import type { OutgoingRequest, ProviderAdapter, TranslationTarget } from '../provider-adapter.ts';
import { countTokensBody } from './count-tokens.ts';
import { chatWithoutNativeFormat, withMessagesFields } from './native-fields.ts';
import { translateChatRequest } from './request.ts';
import { AnthropicJsonTranslator } from './response.ts';
import { AnthropicStreamTranslator } from './stream.ts';

/** POST /messages (or a path below it) with the provider's credential and pinned API version, carrying `body`. */
function messagesRequest(target: TranslationTarget, body: Record<string, unknown>, path = '/messages'): OutgoingRequest {
  // The registry hands this adapter only providers of type anthropic.
  const config = target.provider as AnthropicProviderConfig;
  const headers: Record<string, string> = {
    'anthropic-version': config.anthropic_version,
    'content-type': 'application/json',
  };
  if (target.credential) headers['x-api-key'] = target.credential;
  return {
    path: `${target.basePath}${path}`,
    headers,
    // Anthropic takes its key in x-api-key; the client's Tollgate key must never travel on.
    removeHeaders: ['authorization'],
    body,
  };
}

/** Anthropic's Messages API: OpenAI chat requests translated both ways, streams event by event. */
export const anthropicAdapter: ProviderAdapter = {
  translateRequest(input) {
    if (input.endpoint !== 'chat') {
      throw errors.badRequest('Anthropic models do not serve embeddings.', 'model', 'model_not_supported');
    }
    const config = input.target.provider as AnthropicProviderConfig;
    const fields = input.messagesFields;
    const out = translateChatRequest(chatWithoutNativeFormat(input.body, fields), input.target.upstreamModel, input.stream, config);
    return messagesRequest(input.target, fields ? withMessagesFields(out, fields) : { ...out });
  },

  // A /v1/messages client already speaks this API: its body goes unchanged but for the model the route resolved.
  passthroughMessages(body, target) {
    return messagesRequest(target, { ...body, model: target.upstreamModel });
  },

  // Anthropic counts a prompt for free (POST /messages/count_tokens): its count, not the gateway's estimate.
  countTokens(input) {
    const config = input.target.provider as AnthropicProviderConfig;
    const body = countTokensBody(input.body, input.original, input.target.upstreamModel, config, input.messagesFields ?? null);
    return messagesRequest(input.target, body, '/messages/count_tokens');
  },

  translateResponse(info) {
    if (info.stream && info.status === 200) return new AnthropicStreamTranslator(info);
    return new AnthropicJsonTranslator(info);
  },
};
