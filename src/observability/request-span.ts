import type { ProviderType } from '../config/types.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { SPAN_STATUS, type RequestTrace, type SpanAttributes } from './tracing.ts';

/** gen_ai.provider.name of each wire API (OpenTelemetry GenAI semantic conventions' well-known values). */
const GEN_AI_PROVIDER: Record<ProviderType, string> = {
  openai: 'openai',
  azure: 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
};

/** gen_ai.operation.name by endpoint; other endpoints (models, feedback) are no GenAI operation. */
const GEN_AI_OPERATION: Partial<Record<NonNullable<RequestContext['endpoint']>, string>> = {
  chat: 'chat',
  embeddings: 'embeddings',
};

/**
 * The request span's attributes, known only at the end: GenAI semantic conventions for the model call, plus the
 * tenant, the policy decision and the cache status. Never prompt or answer text, keys or user ids.
 */
export function requestSpanAttributes(ctx: RequestContext): SpanAttributes {
  const attributes: SpanAttributes = { 'tollgate.request_id': ctx.requestId, 'tollgate.outcome': ctx.outcome };
  const operation = ctx.endpoint ? GEN_AI_OPERATION[ctx.endpoint] : undefined;
  if (operation) attributes['gen_ai.operation.name'] = operation;
  if (ctx.model) attributes['gen_ai.request.model'] = ctx.model;
  if (ctx.provider) {
    attributes['tollgate.provider'] = ctx.provider;
    const vendor = ctx.routing.candidates.find((candidate) => candidate.provider === ctx.provider)?.vendor;
    if (vendor) attributes['gen_ai.provider.name'] = GEN_AI_PROVIDER[vendor];
  }
  if (ctx.upstreamModel) attributes['gen_ai.response.model'] = ctx.upstreamModel;
  if (ctx.finishReasons?.length) attributes['gen_ai.response.finish_reasons'] = [...ctx.finishReasons];
  if (ctx.usage) {
    attributes['gen_ai.usage.input_tokens'] = ctx.usage.promptTokens;
    attributes['gen_ai.usage.output_tokens'] = ctx.usage.completionTokens;
  }
  if (ctx.tenant) {
    attributes['tollgate.org'] = ctx.tenant.org;
    attributes['tollgate.team'] = ctx.tenant.team;
    attributes['tollgate.app'] = ctx.tenant.app;
  }
  if (ctx.policy) {
    attributes['tollgate.policy.decision'] = ctx.policy.allow ? 'allow' : 'deny';
    attributes['tollgate.policy.revision'] = ctx.policy.revision;
  }
  if (ctx.cacheStatus) attributes['tollgate.cache.status'] = ctx.cacheStatus;
  // An A/B test's variant (issue 16: recorded in the ledger, the metrics and the trace) and a routing strategy's pick.
  if (ctx.variant) attributes['tollgate.variant'] = ctx.variant;
  if (ctx.routing.strategy) attributes['tollgate.routing.strategy'] = ctx.routing.strategy;
  if (ctx.response.status !== null) attributes['http.response.status_code'] = ctx.response.status;
  if (ctx.attemptCount !== null) attributes['tollgate.attempts'] = ctx.attemptCount;
  if (ctx.error) attributes['error.type'] = ctx.error.code ?? String(ctx.error.status);
  return attributes;
}

/** Names the request span as the conventions ask (`chat gpt-4o`), sets its attributes and ends it. */
export function endRequestSpan(trace: RequestTrace, ctx: RequestContext): void {
  const attributes = requestSpanAttributes(ctx);
  const operation = attributes['gen_ai.operation.name'];
  if (operation) trace.span.name = ctx.model ? `${String(operation)} ${ctx.model}` : String(operation);
  trace.span.setAttributes(attributes);
  // A failed request (ours or the provider's) shows as an error in any trace viewer.
  if ((ctx.response.status ?? 0) >= 500 || ctx.outcome === 'aborted') trace.span.setStatus(SPAN_STATUS.error, ctx.error?.code ?? ctx.outcome);
  trace.span.end();
}
