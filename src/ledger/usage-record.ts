import { clientEndpoint, type RequestContext } from '../pipeline/context.ts';

/**
 * One usage record per client request (proto/usage_record.proto is the same schema for export consumers).
 *
 * A record goes through states, each written as a new queue entry for the same request id:
 *   pending  — written durably when the request is admitted, before any provider is contacted;
 *   orphaned — closed by the reconciler when no final entry came within the orphan timeout (crash, lost entry);
 *   final    — written when the request ended, whatever the outcome.
 * The sinks keep one row per request id and only ever move it to a higher-ranked state, so a replayed entry, a late
 * pending entry or a second final entry changes nothing: that is what makes the ledger idempotent.
 */
export type RecordState = 'pending' | 'orphaned' | 'final';

export const STATE_RANK: Record<RecordState, number> = { pending: 0, orphaned: 1, final: 2 };

export interface UsageAttempt {
  provider: string;
  model: string;
  /** HTTP status of the provider's answer; null when it never answered. */
  status: number | null;
  /** A cascade step whose answer was not delivered: the signal that escalated it. */
  escalated?: string;
  /** The escalated step's tokens (they are in the request's cost). */
  prompt_tokens?: number;
  completion_tokens?: number;
}

/** What the cache did for the request (see RequestContext.cacheStatus). */
export type CacheStatus = NonNullable<RequestContext['cacheStatus']>;

export interface UsageRecord {
  requestId: string;
  state: RecordState;
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt: number | null;
  org: string;
  team: string;
  app: string;
  user: string | null;
  feature: string | null;
  keyId: string;
  endpoint: string | null;
  /** The public model name the client asked for. */
  model: string | null;
  /** The A/B variant the request was assigned to (models with `variants`), else null. */
  variant: string | null;
  /** The request's trace id (32 hex digits) when tracing is on, else null. */
  traceId: string | null;
  /** The provider and model that answered (the last attempt's). */
  provider: string | null;
  upstreamModel: string | null;
  attempts: UsageAttempt[];
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  cacheWriteTokens: number;
  /** Of the completion tokens, those spent reasoning, when the provider reports them (priced as output). */
  reasoningTokens: number;
  /** Integer nano-USD (1e-9 USD), so sums over millions of records stay exact; null when not priced. */
  costNanoUsd: bigint | null;
  /**
   * A request answered from the cache costs nothing; this is what the provider would have charged for the answer
   * (the cached usage at today's price), so the ledger can sum what the cache saved. Absent otherwise.
   */
  savedNanoUsd?: bigint;
  pricingId: string | null;
  latencyMs: number | null;
  /** HTTP status the client got; null while pending. */
  status: number | null;
  /** completed | rejected | aborted (client went away) | orphaned | pending. */
  outcome: string;
  errorCode: string | null;
  cacheStatus: CacheStatus | null;
}

function baseRecord(ctx: RequestContext, state: RecordState): UsageRecord | null {
  const tenant = ctx.tenant;
  if (!tenant) return null;
  return {
    requestId: ctx.requestId,
    state,
    startedAt: Math.round(ctx.startedAt),
    endedAt: null,
    org: tenant.org,
    team: tenant.team,
    app: tenant.app,
    user: tenant.user,
    feature: tenant.feature,
    keyId: tenant.keyId,
    // A /v1/responses request runs as chat; the ledger names the API the client called.
    endpoint: clientEndpoint(ctx),
    model: ctx.model,
    variant: ctx.variant,
    traceId: ctx.trace?.traceId ?? null,
    provider: null,
    upstreamModel: null,
    attempts: [],
    stream: ctx.stream,
    promptTokens: 0,
    completionTokens: 0,
    cachedPromptTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costNanoUsd: null,
    pricingId: null,
    latencyMs: null,
    status: null,
    outcome: 'pending',
    errorCode: null,
    cacheStatus: null,
  };
}

/** The entry written at admission; null for requests without a tenant (they never reach a provider). */
export function pendingRecord(ctx: RequestContext): UsageRecord | null {
  return baseRecord(ctx, 'pending');
}

/** The entry written when the request ended. */
export function finalRecord(ctx: RequestContext): UsageRecord | null {
  const record = baseRecord(ctx, 'final');
  if (!record) return null;
  const endedAt = ctx.now();
  record.endedAt = Math.round(endedAt);
  record.provider = ctx.provider;
  record.upstreamModel = ctx.upstreamModel;
  record.attempts = ctx.attempts.map(({ provider, model, status, escalated, usage }) => ({
    provider, model, status,
    ...(escalated ? { escalated } : {}),
    ...(usage ? { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens } : {}),
  }));
  record.promptTokens = ctx.usage?.promptTokens ?? 0;
  record.completionTokens = ctx.usage?.completionTokens ?? 0;
  record.cachedPromptTokens = ctx.usage?.cachedPromptTokens ?? 0;
  record.cacheWriteTokens = ctx.usage?.cacheWriteTokens ?? 0;
  record.reasoningTokens = ctx.usage?.reasoningTokens ?? 0;
  record.costNanoUsd = ctx.cost?.nanoUsd ?? null;
  if (ctx.cost?.savedNanoUsd !== undefined) record.savedNanoUsd = ctx.cost.savedNanoUsd;
  record.pricingId = ctx.cost?.pricingId ?? null;
  record.latencyMs = Math.round((endedAt - ctx.startedAt) * 1000) / 1000;
  record.status = ctx.response.status;
  record.outcome = ctx.outcome;
  record.errorCode = ctx.error?.code ?? null;
  record.cacheStatus = ctx.cacheStatus;
  return record;
}

/**
 * Fields left out of a queue entry when they hold these values (and `attempts` when empty), filled back in by
 * decodeRecord. A pending entry is mostly nulls and zeros: 574 bytes of JSON, ~300 without them, written to Redis,
 * read back and parsed once per request each (issue 11). Entries written before, with every field, decode alike.
 */
const DEFAULTS = {
  endedAt: null, user: null, feature: null, endpoint: null, model: null, variant: null, traceId: null, provider: null,
  upstreamModel: null, stream: false, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, cacheWriteTokens: 0,
  reasoningTokens: 0, costNanoUsd: null, pricingId: null, latencyMs: null, status: null, errorCode: null, cacheStatus: null,
} as const satisfies Partial<UsageRecord>;

type Encoded = Partial<Omit<UsageRecord, 'costNanoUsd' | 'savedNanoUsd'>> & { costNanoUsd?: string | null; savedNanoUsd?: string };

const json = JSON.stringify;

/**
 * Queue encoding: JSON without default-valued fields, the cost as a decimal string (JSON has no 64-bit integers).
 * Written field by field: a generic loop over the keys with a lookup in DEFAULTS cost more CPU than the bytes saved.
 */
export function encodeRecord(r: UsageRecord): string {
  let out = `{"requestId":${json(r.requestId)},"state":${json(r.state)},"startedAt":${json(r.startedAt)},"org":${json(r.org)},"team":${json(r.team)},"app":${json(r.app)},"keyId":${json(r.keyId)},"outcome":${json(r.outcome)}`;
  if (r.endedAt !== null) out += `,"endedAt":${json(r.endedAt)}`;
  if (r.user !== null) out += `,"user":${json(r.user)}`;
  if (r.feature !== null) out += `,"feature":${json(r.feature)}`;
  if (r.endpoint !== null) out += `,"endpoint":${json(r.endpoint)}`;
  if (r.model !== null) out += `,"model":${json(r.model)}`;
  if (r.variant !== null) out += `,"variant":${json(r.variant)}`;
  if (r.traceId !== null) out += `,"traceId":${json(r.traceId)}`;
  if (r.provider !== null) out += `,"provider":${json(r.provider)}`;
  if (r.upstreamModel !== null) out += `,"upstreamModel":${json(r.upstreamModel)}`;
  if (r.attempts.length > 0) out += `,"attempts":${json(r.attempts)}`;
  if (r.stream) out += ',"stream":true';
  if (r.promptTokens !== 0) out += `,"promptTokens":${json(r.promptTokens)}`;
  if (r.completionTokens !== 0) out += `,"completionTokens":${json(r.completionTokens)}`;
  if (r.cachedPromptTokens !== 0) out += `,"cachedPromptTokens":${json(r.cachedPromptTokens)}`;
  if (r.cacheWriteTokens !== 0) out += `,"cacheWriteTokens":${json(r.cacheWriteTokens)}`;
  if (r.reasoningTokens !== 0) out += `,"reasoningTokens":${json(r.reasoningTokens)}`;
  if (r.costNanoUsd !== null) out += `,"costNanoUsd":"${r.costNanoUsd.toString()}"`;
  if (r.savedNanoUsd !== undefined) out += `,"savedNanoUsd":"${r.savedNanoUsd.toString()}"`;
  if (r.pricingId !== null) out += `,"pricingId":${json(r.pricingId)}`;
  if (r.latencyMs !== null) out += `,"latencyMs":${json(r.latencyMs)}`;
  if (r.status !== null) out += `,"status":${json(r.status)}`;
  if (r.errorCode !== null) out += `,"errorCode":${json(r.errorCode)}`;
  if (r.cacheStatus !== null) out += `,"cacheStatus":${json(r.cacheStatus)}`;
  return `${out}}`;
}

export function decodeRecord(text: string): UsageRecord {
  const parsed = JSON.parse(text) as Encoded;
  if (typeof parsed.requestId !== 'string' || typeof parsed.state !== 'string' || !(parsed.state in STATE_RANK)) throw new Error('not a usage record');
  const { savedNanoUsd, ...rest } = parsed;
  return {
    ...DEFAULTS,
    attempts: [],
    ...(rest as Omit<Encoded, 'costNanoUsd' | 'savedNanoUsd'>),
    costNanoUsd: parsed.costNanoUsd === null || parsed.costNanoUsd === undefined ? null : BigInt(parsed.costNanoUsd),
    ...(savedNanoUsd !== undefined ? { savedNanoUsd: BigInt(savedNanoUsd) } : {}),
  } as UsageRecord;
}

/**
 * Keeps one entry per request id, the highest-ranked (a batch may hold both the pending and the final entry of a
 * request, and one SQL upsert statement may not touch a row twice).
 */
export function latestPerRequest(records: readonly UsageRecord[]): UsageRecord[] {
  const byId = new Map<string, UsageRecord>();
  for (const record of records) {
    const seen = byId.get(record.requestId);
    if (!seen || STATE_RANK[record.state] > STATE_RANK[seen.state]) byId.set(record.requestId, record);
  }
  return [...byId.values()];
}

const NANO = 1_000_000_000n;

/** Exact decimal USD from nano-USD: 1234567890n → "1.234567890". */
export function formatUsd(nanoUsd: bigint): string {
  const sign = nanoUsd < 0n ? '-' : '';
  const abs = nanoUsd < 0n ? -nanoUsd : nanoUsd;
  return `${sign}${abs / NANO}.${(abs % NANO).toString().padStart(9, '0')}`;
}
