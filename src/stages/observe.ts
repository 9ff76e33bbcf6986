import type { Logger } from 'pino';
import { clientEndpoint, type RequestContext } from '../pipeline/context.ts';
import type { Stage } from '../pipeline/stage.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';

/** Stream pace, cache, policy and upstream attempts: each metric only where the request has that part. */
function observeDetails(metrics: GatewayMetrics, ctx: RequestContext, labels: { team: string; model: string; provider: string }): void {
  const { firstChunkAt, lastChunkAt, chunks } = ctx.response;
  const pace = { provider: labels.provider, model: labels.model };
  if (ctx.response.streaming && firstChunkAt !== undefined) {
    metrics.timeToFirstChunk.observe(pace, (firstChunkAt - ctx.startedAt) / 1000);
    if (lastChunkAt !== undefined && chunks && chunks > 1) metrics.interChunk.observe(pace, (lastChunkAt - firstChunkAt) / 1000 / (chunks - 1));
  }
  const completion = ctx.usage?.completionTokens ?? 0;
  if (completion > 0 && ctx.cacheStatus !== 'hit') {
    const seconds = ctx.response.streaming && firstChunkAt !== undefined && lastChunkAt !== undefined && lastChunkAt > firstChunkAt
      ? (lastChunkAt - firstChunkAt) / 1000
      : (ctx.now() - ctx.startedAt) / 1000;
    if (seconds > 0) metrics.outputTokensPerSecond.observe(pace, completion / seconds);
  }
  if (ctx.cacheStatus) metrics.cacheRequests.inc({ status: ctx.cacheStatus });
  const saved = ctx.cost?.savedNanoUsd;
  if (saved && saved > 0n) metrics.cacheSavedUsd.inc({ team: labels.team }, Number(saved) / 1e9);
  if (ctx.policy) metrics.policyDecisions.inc({ outcome: ctx.policy.allow ? 'allow' : 'deny' });
  if (ctx.attempts.length > 1 && ctx.attempts[0]?.provider !== ctx.provider && ctx.provider) metrics.fallbacks.inc({ model: labels.model });
}

/**
 * The model as a metric label: only a model the config resolved. What a client asked for before that (an unknown
 * model's 404, a body rejected by validation) is any string, and as a label it would grow the series without bound.
 */
function modelLabel(ctx: RequestContext): string {
  if (ctx.routing.alias !== null) return ctx.model ?? 'none';
  return ctx.model ? 'unresolved' : 'none';
}

/**
 * One structured log line and the metrics of each request, when it ends (whatever the outcome).
 * Never logs prompts, completions or keys: only ids, names and numbers.
 */
export function observeStage(deps: { metrics: GatewayMetrics; logger: Logger }): Stage {
  return {
    name: 'observe',
    onResponseEnd(ctx: RequestContext): void {
      const latencyMs = ctx.now() - ctx.startedAt;
      const status = ctx.response.status ?? 0;
      const labels = {
        team: ctx.tenant?.team ?? 'none',
        model: modelLabel(ctx),
        provider: ctx.provider ?? 'none',
        status: String(status),
      };
      deps.metrics.requests.inc(labels);
      if (ctx.variant) deps.metrics.variantRequests.inc({ model: labels.model, variant: ctx.variant, status: labels.status });
      for (const attempt of ctx.attempts) {
        deps.metrics.attempts.inc({ model: labels.model, provider: attempt.provider, status: attempt.status === null ? 'none' : String(attempt.status) });
      }
      deps.metrics.latency.observe(labels, latencyMs / 1000);
      observeDetails(deps.metrics, ctx, labels);
      if (ctx.usage) {
        const tokenLabels = { team: labels.team, model: labels.model, provider: labels.provider };
        deps.metrics.tokens.inc({ ...tokenLabels, kind: 'prompt' }, ctx.usage.promptTokens);
        deps.metrics.tokens.inc({ ...tokenLabels, kind: 'completion' }, ctx.usage.completionTokens);
      }
      // Checked on the root logger, so a disabled level costs no per-request child logger.
      if (!deps.logger.isLevelEnabled('info')) return;
      ctx.log.info(
        {
          org: ctx.tenant?.org,
          team: ctx.tenant?.team,
          app: ctx.tenant?.app,
          key_id: ctx.tenant?.keyId,
          method: ctx.method,
          path: ctx.path,
          endpoint: clientEndpoint(ctx),
          user: ctx.tenant?.user ?? undefined,
          feature: ctx.tenant?.feature ?? undefined,
          model: ctx.model,
          variant: ctx.variant ?? undefined,
          provider: ctx.provider,
          attempts: ctx.attempts.length > 1 ? ctx.attempts.length : undefined,
          stream: ctx.stream,
          status,
          outcome: ctx.outcome,
          error_code: ctx.error?.code,
          output_guardrail: ctx.output && (ctx.output.blocked || ctx.output.rewritten)
            ? { blocked: ctx.output.blocked, found: ctx.output.found } : undefined,
          // The audit log holds the decision's reasons; the request line links to it.
          policy_decision_id: ctx.policy?.decisionId,
          policy_revision: ctx.policy?.revision,
          latency_ms: Math.round(latencyMs * 10) / 10,
          response_bytes: ctx.response.bytes,
          prompt_tokens: ctx.usage?.promptTokens,
          completion_tokens: ctx.usage?.completionTokens,
          total_tokens: ctx.usage?.totalTokens,
        },
        'request',
      );
    },
  };
}
