import type { ProviderType } from '../config/types.ts';
import type { DirectAnswer } from '../pipeline/stage.ts';
import { promptTokens, tokensForVendor } from '../quota/estimate.ts';

/**
 * POST /v1/messages/count_tokens for a model whose provider has no counting API (OpenAI, Azure, vLLM): the gateway
 * answers `{"input_tokens": N}` itself, with the tokenizer the quota estimates use (o200k_base, scaled for the
 * provider's vendor, see src/quota/estimate.ts). An estimate: that provider's own tokenizer may count differently.
 */
export function estimatedCount(chat: Record<string, unknown>, vendor: ProviderType): DirectAnswer {
  const inputTokens = tokensForVendor(promptTokens('chat', chat), vendor);
  return { status: 200, headers: { 'content-type': 'application/json', 'x-tollgate-count': 'estimate' }, body: JSON.stringify({ input_tokens: inputTokens }) };
}
