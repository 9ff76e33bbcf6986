import type { Usage } from '../../pipeline/context.ts';
import type { GeminiUsageMetadata } from './wire-types.ts';

/**
 * Gemini `usageMetadata` → Tollgate usage. Gemini counts the model's reasoning (`thoughtsTokenCount`) apart from the
 * answer (`candidatesTokenCount`); both are billed as output, so both are completion tokens, as in OpenAI where
 * reasoning tokens are part of completion_tokens. Tokens of tool-use prompts (`toolUsePromptTokenCount`) are input.
 * `cachedContentTokenCount` is part of `promptTokenCount`, like OpenAI's cached_tokens of prompt_tokens.
 */
export function fromGeminiUsage(metadata: unknown): Usage | null {
  if (!metadata || typeof metadata !== 'object') return null;
  const m = metadata as GeminiUsageMetadata;
  const promptTokens = (m.promptTokenCount ?? 0) + (m.toolUsePromptTokenCount ?? 0);
  const completionTokens = (m.candidatesTokenCount ?? 0) + (m.thoughtsTokenCount ?? 0);
  const cached = m.cachedContentTokenCount;
  return {
    promptTokens,
    completionTokens,
    totalTokens: m.totalTokenCount ?? promptTokens + completionTokens,
    ...(cached ? { cachedPromptTokens: cached } : {}),
    ...(m.thoughtsTokenCount ? { reasoningTokens: m.thoughtsTokenCount } : {}),
  };
}

/** The OpenAI `usage` object for a Gemini answer (reasoning tokens shown as OpenAI shows them). */
export function toOpenAIUsage(metadata: unknown): Record<string, unknown> | null {
  const usage = fromGeminiUsage(metadata);
  if (!usage) return null;
  const thoughts = (metadata as GeminiUsageMetadata).thoughtsTokenCount;
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    ...(usage.cachedPromptTokens ? { prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens } } : {}),
    ...(thoughts ? { completion_tokens_details: { reasoning_tokens: thoughts } } : {}),
  };
}
