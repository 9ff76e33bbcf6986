import type { Logger } from 'pino';
import type { ConfigHolder } from '../config/config-holder.ts';
import type { RequestContext, Usage } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { costNanoUsd } from '../pricing/cost.ts';
import type { PriceTable, PricedTarget } from '../pricing/price-table.ts';
import type { BudgetAlerts } from '../quota/alerts.ts';
import type { QuotasConfig } from '../quota/config.ts';
import { DeliveredStream } from '../quota/delivered.ts';
import type { QuotaEngine, QuotaPlan, Reservation, ReserveOutcome, RideAlong } from '../quota/engine.ts';
import { bucketCost } from '../quota/engine.ts';
import { budgetExceeded, quotaStoreUnavailable, rateLimitExceeded } from '../quota/errors.ts';
import { promptTokens, tokensForVendor } from '../quota/estimate.ts';
import { rateLimitHeaders } from '../quota/headers.ts';
import type { QuotaMetrics } from '../quota/metrics.ts';
import { isEmptyPlan, PlanCache, reservationKey } from '../quota/plan.ts';
import { allowedCandidates } from './route.ts';

export interface QuotaDeps {
  config: ConfigHolder;
  engine: QuotaEngine;
  prices: PriceTable;
  alerts: BudgetAlerts;
  metrics: QuotaMetrics;
  logger: Logger;
  /** Wall clock for budget periods and price dates (ms). */
  now?: () => number;
  /**
   * The ledger's entries of each request (pending, final): sent in the round trip of the reserve and settle scripts
   * when the engine can share it, so the ledger stage does not need a round trip of its own.
   */
  entries?: { rideAlong(ctx: RequestContext, state: 'pending' | 'final'): RideAlong | null } | null;
  /** Budget counters lost by the store (see quota/rebuild.ts): rebuilt in the background, or waited for. */
  rebuild?: { countersLost(org: string): void; recover(org: string): Promise<boolean> } | null;
}

const COUNTERS_LOST = 'the quota store lost its budget counters and they are not rebuilt yet';
type Decided = Exclude<ReserveOutcome, { kind: 'unsynced' }>;

interface QuotaState {
  /** Null when no limit or budget applies to the tenant. */
  plan: QuotaPlan | null;
  /** What the store holds for this request: zeros when it failed open. */
  reserved: Reservation;
  /** The store must settle this request (it reserved, or failed open and should still count the spend). */
  settle: boolean;
  /** Prompt tokens by o200k_base (counted once, when first needed), for a request the provider never reported on. */
  promptTokensO200k: () => number;
  delivered: DeliveredStream | null;
}

const METERED = new Set<RequestContext['endpoint']>(['chat', 'embeddings']);
const NOTHING: Reservation = { tokens: 0, nanoUsd: 0 };
const WARN_EVERY_MS = 10_000;
/** When a failed settlement is tried again (about a minute in all), and how many may wait at once. */
const SETTLE_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15_000, 30_000];
const MAX_SETTLE_RETRIES = 100_000;

const positiveInt = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;

/**
 * Completion tokens to reserve: the request's own limit, else the route's default, which a route may also enforce
 * by sending it as max_tokens (the name every OpenAI-compatible API and Tollgate's translators accept), so the
 * provider cannot produce more than was reserved. Times n choices.
 */
function completionAllowance(ctx: RequestContext, body: Record<string, unknown>, config: QuotasConfig): number {
  if (ctx.endpoint !== 'chat') return 0;
  const choices = positiveInt(body.n) ?? 1;
  const requested = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens);
  if (requested !== null) return requested * choices;
  const route = ctx.model ? config.models[ctx.model] : undefined;
  const fallback = route?.default_max_tokens ?? config.default_max_tokens;
  if (route?.enforce_max_tokens ?? config.enforce_max_tokens) {
    body.max_tokens = fallback;
    ctx.upstream.bodyChanged = true;
  }
  return fallback * choices;
}

/**
 * Quotas in two stages around the route stage, sharing one state per request:
 * - `reserve` (before route, reading the OpenAI body): estimates the request (prompt by tokenizer + completion
 *   allowance, priced at the dearest allowed candidate) and checks and reserves every scope in one store call;
 *   429 with Retry-After when a limit or budget is short; OpenAI's x-ratelimit-* headers either way.
 * - `settle` (after route, so it reads OpenAI-format chunks and ctx.usage): prices the real usage into ctx.cost and
 *   settles it in one store call, refunding the difference; alerts for each budget threshold crossed. Place it
 *   before the ledger stage, which reads ctx.cost.
 * With Redis, the ledger's pending and final entries ride in the same round trip as the two scripts (`entries`).
 */
export function quotaStages(deps: QuotaDeps): { reserve: Stage; settle: Stage } {
  const states = new WeakMap<RequestContext, QuotaState>();
  const plans = new PlanCache();
  const now = deps.now ?? Date.now;
  let lastWarning = 0;
  const rideAlong = (ctx: RequestContext, state: 'pending' | 'final'): RideAlong[] => {
    const command = deps.engine.sharesRoundTrips ? deps.entries?.rideAlong(ctx, state) : null;
    return command ? [command] : [];
  };
  const warn = (error: unknown, message: string) => {
    if (Date.now() - lastWarning < WARN_EVERY_MS) return;
    lastWarning = Date.now();
    deps.logger.warn({ err: error }, message);
  };

  function vendorOf(provider: string): string {
    return deps.config.catalog().provider(provider)?.config.type ?? 'unknown';
  }

  /** The request's reservation, at the dearest candidate that may still serve it (fallbacks may land there). */
  function estimate(ctx: RequestContext, completion: number, o200k: number): Reservation {
    const at = now();
    const reservation = { tokens: 0, nanoUsd: 0 };
    for (const candidate of allowedCandidates(ctx.routing)) {
      const prompt = tokensForVendor(o200k, candidate.vendor);
      reservation.tokens = Math.max(reservation.tokens, prompt + completion);
      const entry = deps.prices.lookup(candidate, at);
      if (!entry) continue;
      const usage = { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion };
      reservation.nanoUsd = Math.max(reservation.nanoUsd, Number(costNanoUsd(usage, entry)));
    }
    if (reservation.tokens === 0) reservation.tokens = o200k + completion;
    return reservation;
  }

  /** Reserves; when the store lost the org's budget counters, waits for their rebuild and reserves again. */
  async function reserveSynced(ctx: RequestContext, org: string, plan: QuotaPlan, reservation: Reservation): Promise<Decided> {
    const outcome = await deps.engine.reserve(plan, reservation, rideAlong(ctx, 'pending'), ctx.roundTrip);
    if (outcome.admitted || outcome.kind !== 'unsynced') return outcome;
    // Nothing was reserved: decide on the counters rebuilt from the ledger, never on the empty ones.
    if (!(await deps.rebuild?.recover(org))) throw new Error(COUNTERS_LOST);
    const again = await deps.engine.reserve(plan, reservation);
    if (again.admitted || again.kind !== 'unsynced') return again;
    throw new Error(COUNTERS_LOST);
  }

  const reserve: Stage = {
    name: 'quota',
    async onRequest(ctx: RequestContext): Promise<StageResult> {
      if (!METERED.has(ctx.endpoint) || !ctx.tenant || !ctx.body) return;
      const config = deps.config.catalog().config.quotas;
      // The client's OpenAI body: route replaces ctx.body by the provider's form but never mutates this one.
      const body = ctx.body;
      const endpoint = ctx.endpoint === 'embeddings' ? 'embeddings' : 'chat';
      let counted: number | null = null;
      const o200k = () => (counted ??= promptTokens(endpoint, body));
      const state: QuotaState = { plan: null, reserved: NOTHING, settle: false, promptTokensO200k: o200k, delivered: null };
      states.set(ctx, state);
      // Also where a route enforces its default max_tokens, limits or not.
      const completion = completionAllowance(ctx, body, config);
      const plan = plans.planFor(config, ctx.tenant, now());
      // No limit or budget for this tenant: nothing to reserve, no tokenizing on the request path.
      if (isEmptyPlan(plan)) return;
      plan.reservationKey = reservationKey(ctx.tenant.org, ctx.requestId);
      state.plan = plan;
      const reservation = estimate(ctx, completion, o200k());

      let outcome;
      try {
        outcome = await reserveSynced(ctx, ctx.tenant.org, plan, reservation);
      } catch (error) {
        deps.metrics.storeFailures.inc({ phase: 'reserve', mode: config.on_store_failure });
        warn(error, `quota store unavailable: failing ${config.on_store_failure}`);
        // The reserve may have run in the store all the same (its reply lost to a timeout or a dropped connection):
        // settling at the end refunds whatever the store's reservation record says it holds, nothing if none.
        state.settle = true;
        if (config.on_store_failure === 'closed') return { respond: quotaStoreUnavailable() };
        // Admitted without a reservation; settling still counts the spend if the store is back by then.
        return;
      }
      if (outcome.countersLost) deps.rebuild?.countersLost(ctx.tenant.org);
      if (!outcome.admitted && outcome.kind === 'budget') {
        const budget = plan.budgets[outcome.budget];
        if (!budget) throw new Error('quota engine named an unknown budget');
        deps.metrics.rejections.inc({ scope: budget.scope, limit: budget.period === 'daily' ? 'daily_usd' : 'monthly_usd' });
        return { respond: budgetExceeded(budget, outcome.usedNanoUsd, now()) };
      }
      for (const [name, value] of rateLimitHeaders(plan.buckets, outcome.levels)) ctx.responseHeaders.set(name, value);
      if (!outcome.admitted) {
        const bucket = plan.buckets[outcome.bucket];
        if (!bucket) throw new Error('quota engine named an unknown bucket');
        deps.metrics.rejections.inc({ scope: bucket.scope, limit: bucket.kind === 'requests' ? 'rpm' : 'tpm' });
        return { respond: rateLimitExceeded(bucket, outcome.levels[outcome.bucket] ?? 0, bucketCost(bucket, reservation), outcome.retryMs) };
      }
      state.reserved = reservation;
      state.settle = true;
    },
  };

  /** What the request used: the provider's report; else, for an answer that started, Tollgate's own count. */
  function meteredUsage(ctx: RequestContext, state: QuotaState, vendor: string): Usage | null {
    if (ctx.usage) return ctx.usage;
    if (ctx.response.status !== 200 || !ctx.provider) return null;
    const prompt = tokensForVendor(state.promptTokensO200k(), vendor);
    const completion = state.delivered?.completionTokens() ?? 0;
    ctx.usage = { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: true };
    return ctx.usage;
  }

  /** The provider and model that answered (the last attempt's). */
  function answeredBy(ctx: RequestContext): PricedTarget | null {
    if (!ctx.provider) return null;
    const model = ctx.upstreamModel ?? ctx.routing.candidates.find((c) => c.provider === ctx.provider)?.model ?? ctx.model;
    return model ? { provider: ctx.provider, vendor: vendorOf(ctx.provider), model } : null;
  }

  const settle: Stage = {
    name: 'quota-settle',
    onResponseChunk(ctx: RequestContext, chunk: Buffer): void {
      if (!ctx.response.streaming) return;
      const state = states.get(ctx);
      if (state) (state.delivered ??= new DeliveredStream()).push(chunk);
    },

    async onResponseEnd(ctx: RequestContext): Promise<void> {
      const state = states.get(ctx);
      if (!state) return;
      // Answered by the cache (a hit, or a stale/default answer for a failed chain): no provider spend.
      const fromCache = ctx.cacheStatus === 'hit' || ctx.cacheStatus === 'stale' || ctx.cacheStatus === 'default';
      const target = answeredBy(ctx);
      const usage = fromCache ? ctx.cacheSavedUsage : target ? meteredUsage(ctx, state, target.vendor) : null;
      const entry = target && usage ? deps.prices.lookup(target, now()) : null;
      let nanoUsd = entry && usage ? costNanoUsd(usage, entry) : 0n;
      // Cascade steps whose answers were escalated were spent too (src/routing/cascade.ts).
      for (const attempt of fromCache ? [] : ctx.attempts) {
        if (!attempt.usage) continue;
        const stepEntry = deps.prices.lookup({ provider: attempt.provider, vendor: vendorOf(attempt.provider), model: attempt.model }, now());
        if (stepEntry) nanoUsd += costNanoUsd(attempt.usage, stepEntry);
      }
      if (fromCache) {
        ctx.cost = { nanoUsd: 0n, pricingId: entry?.id ?? 'cache', ...(entry ? { savedNanoUsd: nanoUsd } : {}) };
      } else {
        ctx.cost = { nanoUsd, pricingId: entry?.id ?? (target && usage ? 'unpriced' : 'none') };
        if (target && usage && !entry) deps.metrics.unpriced.inc({ provider: target.provider, model: target.model });
        if (nanoUsd > 0n) {
          deps.metrics.costUsd.inc({ team: ctx.tenant?.team ?? 'none', app: ctx.tenant?.app ?? 'none', model: ctx.model ?? 'none', provider: target?.provider ?? 'none' }, Number(nanoUsd) / 1e9);
        }
      }
      states.delete(ctx);
      if (!state.plan || !state.settle) return;
      const actual = fromCache ? NOTHING : { tokens: usage?.totalTokens ?? 0, nanoUsd: Number(ctx.cost.nanoUsd) };
      try {
        const crossed = await deps.engine.settle(state.plan, state.reserved, actual, rideAlong(ctx, 'final'), ctx.roundTrip);
        for (const { budget, percent, settledNanoUsd } of crossed) {
          const spec = state.plan.budgets[budget];
          if (spec) deps.alerts.fire(spec, percent, settledNanoUsd, now());
        }
      } catch (error) {
        deps.metrics.storeFailures.inc({ phase: 'settle', mode: deps.config.catalog().config.quotas.on_store_failure });
        warn(error, 'quota store unavailable: a request was not settled (retrying)');
        retrySettle(state.plan, state.reserved, actual, 0);
      }
    },
  };

  /**
   * A settlement the store did not take (Redis down or restarting) is tried again in the background, so that the
   * reservation is released and the spend counted once the store is back. Safe to repeat with the reservation record
   * (plan.reservationKey): a settlement that did run deleted it, and a repeat that claims a reservation and finds
   * no record changes nothing (lua/settle.lua). The ledger's final entry is retried by the ledger itself.
   */
  let retrying = 0;
  function retrySettle(plan: QuotaPlan, reserved: Reservation, actual: Reservation, attempt: number): void {
    const delay = SETTLE_RETRY_DELAYS_MS[attempt];
    if (delay === undefined || !plan.reservationKey || retrying >= MAX_SETTLE_RETRIES) {
      deps.logger.warn({ attempt }, 'quota settlement given up: the reservation stays until its budget period ends');
      return;
    }
    retrying += 1;
    setTimeout(() => {
      deps.engine.settle(plan, reserved, actual).then(
        (crossed) => {
          retrying -= 1;
          for (const { budget, percent, settledNanoUsd } of crossed) {
            const spec = plan.budgets[budget];
            if (spec) deps.alerts.fire(spec, percent, settledNanoUsd, now());
          }
        },
        () => {
          retrying -= 1;
          retrySettle(plan, reserved, actual, attempt + 1);
        },
      );
    }, delay).unref();
  }

  return { reserve, settle };
}
