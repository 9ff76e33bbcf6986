import type { Logger } from 'pino';
import type { RequestEntries } from '../ledger/request-entries.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage } from '../pipeline/stage.ts';

/** Endpoints that use a provider; listing models is not usage. */
const METERED_ENDPOINTS = new Set<RequestContext['endpoint']>(['chat', 'embeddings']);
const WARN_EVERY_MS = 10_000;

/**
 * Exactly one usage record per authenticated LLM request. Placed after every stage that may reject or settle
 * (quota sets ctx.cost in its onResponseEnd), so:
 *  - onRequest runs only for admitted requests, and awaits a durable pending entry before any provider is
 *    contacted: a crash from here on leaves an entry the reconciler closes;
 *  - onResponseEnd (once, whatever happened) queues the final entry, off the client's critical path.
 * A request answered before this stage (rejected, cache hit) gets only its final entry.
 * With Redis, the quota stage may already have sent an entry in the round trip of its own script (RequestEntries):
 * then this stage waits for that write instead of writing again.
 * If the queue fails, the request still goes on (the quota stage owns fail-open/closed); the failure is logged.
 */
export function ledgerStage(deps: { entries: RequestEntries; logger: Logger }): Stage {
  let lastWarning = 0;
  const warn = (error: unknown, what: string) => {
    if (Date.now() - lastWarning < WARN_EVERY_MS) return;
    lastWarning = Date.now();
    deps.logger.warn({ err: error }, what);
  };
  return {
    name: 'ledger',
    async onRequest(ctx: RequestContext): Promise<void> {
      if (!METERED_ENDPOINTS.has(ctx.endpoint)) return;
      await deps.entries.write(ctx, 'pending').catch((error: unknown) => warn(error, 'usage ledger: pending entry not queued'));
    },
    async onResponseEnd(ctx: RequestContext): Promise<void> {
      if (!METERED_ENDPOINTS.has(ctx.endpoint)) return;
      await deps.entries.write(ctx, 'final').catch((error: unknown) => warn(error, 'usage ledger: final entry not queued (kept for retry)'));
    },
  };
}
