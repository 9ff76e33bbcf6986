import type { Usage } from '../../pipeline/context.ts';
import type { AnthropicUsage } from './wire.ts';

/**
 * Anthropic counts cached input apart from `input_tokens`; Tollgate's (and OpenAI's) prompt tokens are ALL input
 * tokens, so reads and writes of the prompt cache are added back in.
 */
export function fromAnthropicUsage(usage: unknown): Usage | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as AnthropicUsage;
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const promptTokens = (u.input_tokens ?? 0) + cacheRead + cacheWrite;
  const completionTokens = u.output_tokens ?? 0;
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    ...(cacheRead ? { cachedPromptTokens: cacheRead } : {}),
    ...(cacheWrite ? { cacheWriteTokens: cacheWrite } : {}),
  };
}

/** The `usage` object of an OpenAI chat completion (or of the final usage chunk of a stream). */
export function toOpenAIUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens ?? 0 },
  };
}
