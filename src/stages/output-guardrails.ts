import type { OutputGuardrailsConfig } from '../guardrails/output/config.ts';
import { filterCompletion, StreamAnswerFilter, type OutputRule, type OutputVerdict } from '../guardrails/output/answer-filter.ts';
import type { PiiType } from '../guardrails/pii/types.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { BufferedBody } from '../providers/shared/buffered-body.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage } from '../pipeline/stage.ts';

type Filter = { kind: 'stream'; filter: StreamAnswerFilter } | { kind: 'json'; body: BufferedBody };

/**
 * Output guardrails: personal data and secrets in answers are masked or stop the answer (guardrails.output). Runs
 * after route (answers are OpenAI chat completions here, whatever the provider) and before the cache, which stores
 * nothing a guardrail rewrote. Streams are filtered chunk by chunk with a bounded window; JSON answers whole.
 * It also puts reversibly redacted values back (policy redact_mode: reversible). Without a rule or placeholders it
 * passes every chunk untouched.
 */
export function outputGuardrailsStage(deps: { config: () => OutputGuardrailsConfig; metrics?: GatewayMetrics }): Stage {
  const filters = new WeakMap<RequestContext, Filter>();

  // One rule per config object: a reload takes effect for the next answer, and an unconfigured stage costs a lookup.
  let cached: { config: OutputGuardrailsConfig; rule: OutputRule | null } | null = null;
  const ruleFor = (): OutputRule | null => {
    const config = deps.config();
    if (cached?.config !== config) {
      const empty = config.redact.length === 0 && config.block.length === 0;
      cached = { config, rule: empty ? null : { redact: new Set(config.redact), block: new Set(config.block), window: config.window_chars } };
    }
    return cached.rule;
  };

  const record = (ctx: RequestContext, verdict: OutputVerdict) => {
    ctx.output = verdict;
    if (verdict.rewritten) ctx.cachePolicy = 'forbid';
    if (verdict.blocked && ctx.stream) ctx.outcome = 'aborted';
    for (const [type, count] of Object.entries(verdict.found) as Array<[PiiType, number]>) {
      const action = verdict.blocked === type ? 'blocked' : ruleFor()?.redact.has(type) ? 'redacted' : 'found';
      deps.metrics?.outputFindings.inc({ type, action }, count);
    }
  };

  /** A request whose values were reversibly redacted gets them back, with or without output rules. */
  const withRestore = (rule: OutputRule | null, ctx: RequestContext): OutputRule | null => {
    const vault = ctx.placeholders;
    if (!vault || vault.size === 0) return rule;
    const restore = (text: string) => vault.restore(text);
    return rule ? { ...rule, restore } : { redact: new Set(), block: new Set(), window: deps.config().window_chars, restore };
  };

  return {
    name: 'output-guardrails',
    onResponseChunk(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): Buffer | void {
      if (ctx.endpoint !== 'chat' || ctx.response.status !== 200 || ctx.cacheStatus === 'hit') return;
      let state = filters.get(ctx);
      if (!state) {
        const rule = withRestore(ruleFor(), ctx);
        if (!rule) return;
        state = ctx.response.streaming ? { kind: 'stream', filter: new StreamAnswerFilter(rule) } : { kind: 'json', body: new BufferedBody() };
        filters.set(ctx, state);
      }
      if (state.kind === 'stream') {
        const out = state.filter.push(chunk, endOfStream);
        if (endOfStream) record(ctx, state.filter.verdict());
        return out;
      }
      const whole = state.body.push(chunk, endOfStream);
      // The JSON answer is held until complete (it is scanned whole), then sent in one piece.
      if (!whole) return Buffer.alloc(0);
      const rule = withRestore(ruleFor(), ctx);
      if (!rule) return whole;
      const { body, verdict } = filterCompletion(whole, rule);
      record(ctx, verdict);
      return body ?? whole;
    },
  };
}
