import { requestTexts } from '../guardrails/pii/request-text.ts';
import { detectPii } from '../guardrails/pii/scan.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

/**
 * Input guardrails: scans the request text for personal data and secrets before policy runs. It records types and
 * counts on the context (ctx.pii) and changes nothing; policy decides what follows (route away, redact, deny).
 */
export function guardrailsStage(): Stage {
  return {
    name: 'guardrails',
    onRequest(ctx: RequestContext): StageResult {
      // count_tokens too: its prompt goes to a provider (Anthropic counts it), so policy must see what it holds.
      if ((ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings' && ctx.endpoint !== 'count-tokens') || !ctx.body || !ctx.tenant) return;
      ctx.pii = detectPii(requestTexts(ctx.body));
    },
  };
}
