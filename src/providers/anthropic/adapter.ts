import type { AnthropicProviderConfig } from '../../config/types.ts';
import { errors } from '../../errors/errors.ts';
import type { ProviderAdapter } from '../provider-adapter.ts';
import { translateChatRequest } from './request.ts';
import { AnthropicJsonTranslator } from './response.ts';
import { AnthropicStreamTranslator } from './stream.ts';

/** Anthropic's Messages API: OpenAI chat requests translated both ways, streams event by event. */
export const anthropicAdapter: ProviderAdapter = {
  translateRequest(input) {
    if (input.endpoint !== 'chat') {
      throw errors.badRequest('Anthropic models do not serve embeddings.', 'model', 'model_not_supported');
    }
    const { target } = input;
    // The registry hands this adapter only providers of type anthropic.
    const config = target.provider as AnthropicProviderConfig;
    const headers: Record<string, string> = {
      'anthropic-version': config.anthropic_version,
      'content-type': 'application/json',
    };
    if (target.credential) headers['x-api-key'] = target.credential;
    return {
      path: `${target.basePath}/messages`,
      headers,
      // Anthropic takes its key in x-api-key; the client's Tollgate key must never travel on.
      removeHeaders: ['authorization'],
      body: { ...translateChatRequest(input.body, target.upstreamModel, input.stream, config) },
    };
  },

  translateResponse(info) {
    if (info.stream && info.status === 200) return new AnthropicStreamTranslator(info);
    return new AnthropicJsonTranslator(info);
  },
};
