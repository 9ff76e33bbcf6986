import type { ConfigHolder } from '../config/config-holder.ts';
import { errors } from '../errors/errors.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { promptTokens, tokensForVendor } from '../quota/estimate.ts';

/**
 * POST /v1/messages/count_tokens, answered by the gateway itself: `{"input_tokens": N}`, counted with the tokenizer
 * the quota estimates use (o200k_base, scaled for the vendor of the model's first provider, see
 * src/quota/estimate.ts). No provider is called and nothing is metered. The model must exist and be usable by the
 * caller, as for a generation.
 */
export function countTokensStage(deps: { config: ConfigHolder }): Stage {
  return {
    name: 'count-tokens',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.endpoint !== 'count-tokens' || !ctx.tenant || !ctx.body || !ctx.model) return;
      const catalog = deps.config.catalog();
      const access = catalog.access(ctx.tenant, ctx.model);
      if (!access.allowed) {
        return { respond: access.reason === 'unknown' ? errors.modelNotFound(ctx.model) : errors.modelNotAllowed(ctx.model, access.detail) };
      }
      const vendor = catalog.candidates(ctx.model)[0]?.vendor ?? 'openai';
      const inputTokens = tokensForVendor(promptTokens('chat', ctx.body), vendor);
      return { respond: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_tokens: inputTokens }) } };
    },
  };
}
