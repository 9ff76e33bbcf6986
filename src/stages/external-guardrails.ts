import { errors } from '../errors/errors.ts';
import type { ExternalGuardrailConfig } from '../guardrails/external/config.ts';
import type { FetchLike } from '../guardrails/external/http.ts';
import { createGuardrail, runGuardrails, selectGuardrails, type ExternalGuardrail, type GuardrailOutcome } from '../guardrails/external/guardrail-set.ts';
import { requestTexts, rewriteRequestText } from '../guardrails/pii/request-text.ts';
import { findPii, type PiiSpan } from '../guardrails/pii/scan.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';

export interface ExternalGuardrailsDeps {
  /** The live `guardrails.external` list: a reload takes effect for the next request. */
  config: () => ExternalGuardrailConfig[];
  env: NodeJS.ProcessEnv;
  metrics?: GatewayMetrics;
  /** A policy stage follows and decides about flagged requests; without one, each guardrail's `action` does. */
  policyDecides: boolean;
  fetch?: FetchLike;
}

/** Clients for one config list, rebuilt only when the list is replaced (config reload). */
export function guardrailCache(deps: Pick<ExternalGuardrailsDeps, 'config' | 'env' | 'fetch'>): () => readonly ExternalGuardrail[] {
  let cached: { config: ExternalGuardrailConfig[]; guardrails: ExternalGuardrail[] } | null = null;
  return () => {
    const config = deps.config();
    if (cached?.config !== config) cached = { config, guardrails: config.map((c) => createGuardrail(c, deps.env, deps.fetch)) };
    return cached.guardrails;
  };
}

/**
 * Presidio's values join the built-in findings: spans the built-in detector already covers are dropped (it wins
 * overlaps, as inside findPii), the rest are counted into ctx.pii and kept per text for the policy's redaction.
 */
function mergeExternalPii(ctx: RequestContext, texts: string[], outcomes: GuardrailOutcome[]): void {
  const extra = new Map<number, PiiSpan[]>();
  for (const { check } of outcomes) {
    for (const span of check?.spans ?? []) {
      const list = extra.get(span.text) ?? [];
      list.push({ type: span.type, start: span.start, end: span.end });
      extra.set(span.text, list);
    }
  }
  if (extra.size === 0) return;
  const types: Record<string, number> = { ...ctx.pii?.types };
  let total = ctx.pii?.total ?? 0;
  const byText = (ctx.externalPii ??= new Map());
  for (const [index, spans] of extra) {
    const text = texts[index]!;
    const taken: PiiSpan[] = ctx.pii ? findPii(text) : [];
    const kept: PiiSpan[] = [];
    for (const span of spans.sort((a, b) => a.start - b.start)) {
      if ([...taken, ...kept].some((t) => span.start < t.end && span.end > t.start)) continue;
      kept.push(span);
      types[span.type] = (types[span.type] ?? 0) + 1;
      total += 1;
    }
    if (kept.length) byText.set(text, [...(byText.get(text) ?? []), ...kept]);
  }
  ctx.pii = { total, types };
}

const TRUSTED_ROLES = new Set(['system', 'developer', 'assistant']);

/** What the injection classifier scores: user and tool messages (and embeddings inputs), not the operator's prompts. */
function untrustedTexts(body: Record<string, unknown>): string[] {
  const messages = Array.isArray(body.messages)
    ? body.messages.filter((m) => !TRUSTED_ROLES.has(String((m as { role?: unknown } | null)?.role)))
    : undefined;
  return requestTexts(messages ? { messages } : { input: body.input }).filter((text) => text.trim() !== '');
}

/** What a topic guardrail compares by meaning: the last user message of a chat, or each embeddings input. */
function comparedTexts(body: Record<string, unknown>): string[] {
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (let i = messages.length - 1; i >= 0; i -= 1) {
      const message = messages[i] as { role?: unknown; content?: unknown } | null;
      if (message?.role !== 'user') continue;
      const texts: string[] = [];
      rewriteRequestText({ messages: [message] }, (text) => {
        texts.push(text);
        return text;
      });
      const joined = texts.join('\n').trim();
      return joined ? [joined] : [];
    }
    return [];
  }
  return requestTexts({ input: body.input }).filter((text) => text.trim() !== '');
}

const categoriesOf = (outcome: GuardrailOutcome) => Object.keys(outcome.verdict.findings).sort();

/**
 * External guardrails on the request (guardrails.external, applies_to input/both): Presidio, Llama Guard, Azure
 * AI Content Safety, the prompt-injection classifier and topic lists of the model sidecar, over HTTP, all at once, each with its own timeout. Verdicts (categories, counts, scores — never
 * text) go on ctx.guardrails for the policy input and the audit log; Presidio's values join ctx.pii so redaction
 * covers them. A failed guardrail follows its on_error. Without a guardrail for this request the hook returns at
 * once, without a promise: an unconfigured guardrail costs nothing.
 */
export function externalGuardrailsStage(deps: ExternalGuardrailsDeps): Stage {
  const guardrails = guardrailCache(deps);
  // Clients are created now rather than at the first request, so those that prepare (topic phrases) start early.
  guardrails();

  async function check(ctx: RequestContext, selected: ExternalGuardrail[], texts: string[]): Promise<StageResult> {
    const compare = selected.some((g) => g.config.type === 'topics') ? comparedTexts(ctx.body!) : undefined;
    const untrusted = selected.some((g) => g.config.type === 'prompt_injection') ? untrustedTexts(ctx.body!) : undefined;
    const outcomes = await runGuardrails(selected, { direction: 'input', texts, ...(compare?.length ? { compare } : {}), ...(untrusted ? { untrusted } : {}) }, deps.metrics);
    ctx.guardrails = Object.fromEntries(outcomes.map((o) => [o.guardrail.config.name, o.verdict]));
    for (const { guardrail, verdict } of outcomes) {
      if (verdict.status !== 'error') continue;
      ctx.log.warn({ guardrail: guardrail.config.name, reason: verdict.error, on_error: guardrail.config.on_error, latency_ms: verdict.latency_ms }, 'guardrail failed');
      if (guardrail.config.on_error === 'closed') return { respond: errors.guardrailUnavailable(guardrail.config.name, verdict.error ?? 'error') };
    }
    mergeExternalPii(ctx, texts, outcomes);
    if (deps.policyDecides) return;
    const blocking = outcomes.find((o) => o.verdict.status === 'flagged' && o.guardrail.config.action === 'block');
    if (blocking) return { respond: errors.contentFiltered(blocking.guardrail.config.name, categoriesOf(blocking)) };
  }

  return {
    name: 'external-guardrails',
    onRequest(ctx: RequestContext): StageResult | Promise<StageResult> {
      if ((ctx.endpoint !== 'chat' && ctx.endpoint !== 'embeddings' && ctx.endpoint !== 'count-tokens') || !ctx.body || !ctx.tenant) return;
      const all = guardrails();
      if (all.length === 0) return;
      const selected = selectGuardrails(all, 'input', { team: ctx.tenant.team, app: ctx.tenant.app, model: ctx.routing.alias ?? ctx.model ?? '' });
      if (selected.length === 0) return;
      const texts = requestTexts(ctx.body).filter((text) => text.trim() !== '');
      if (texts.length === 0) return;
      return check(ctx, selected, texts);
    },
  };
}
