import { errors } from '../errors/errors.ts';
import type { LedgerSink } from '../ledger/sink.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

/**
 * POST /v1/feedback {"request_id", "score"}: a user's verdict on one answer (-1 … 1), stored on its usage record, so
 * the usage API can compare A/B variants (and models, apps…) by feedback too (`mean_feedback`). A key may rate only
 * its own app's requests; the last score sent wins. Answered by the gateway itself; no provider is involved.
 */
export function feedbackStage(deps: { sink: LedgerSink | null }): Stage {
  return {
    name: 'feedback',
    async onRequest(ctx: RequestContext): Promise<StageResult> {
      if (ctx.endpoint !== 'feedback' || !ctx.tenant || !ctx.body) return;
      if (!deps.sink) return { respond: errors.feedbackUnavailable() };
      const requestId = ctx.body.request_id as string;
      const score = ctx.body.score as number;
      const { org, team, app } = ctx.tenant;
      if (!(await deps.sink.feedback(requestId, { org, team, app }, score))) return { respond: errors.requestNotFound(requestId) };
      return {
        respond: {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ object: 'feedback', request_id: requestId, score }),
        },
      };
    },
  };
}
