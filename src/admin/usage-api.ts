import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from '../errors/errors.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { GROUP_COLUMNS, isGroupBy, type UsageGroup } from '../ledger/sink.ts';
import { formatUsd } from '../ledger/usage-record.ts';
import { sendJson } from './http.ts';

function parseTime(value: string | null, field: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw errors.badRequest(`'${field}' must be an ISO-8601 date or date-time.`, field);
  return time;
}

function startOfMonthUtc(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

function sums(group: Omit<UsageGroup, 'key'>) {
  return {
    requests: group.requests,
    // The results view of A/B tests (group_by=variant) and everything else: errors, error rate, mean latency.
    errors: group.errors,
    error_rate: group.requests ? Math.round((group.errors / group.requests) * 10_000) / 10_000 : 0,
    mean_latency_ms: group.latencyCount ? Math.round((group.latencyMsSum / group.latencyCount) * 100) / 100 : null,
    feedback_count: group.feedbackCount,
    mean_feedback: group.feedbackCount ? Math.round((group.feedbackSum / group.feedbackCount) * 10_000) / 10_000 : null,
    prompt_tokens: group.promptTokens,
    completion_tokens: group.completionTokens,
    cached_prompt_tokens: group.cachedPromptTokens,
    // Exact integers as strings (JSON numbers lose precision past 2^53), and the same as a decimal USD string.
    cost_nano_usd: group.costNanoUsd.toString(),
    cost_usd: formatUsd(group.costNanoUsd),
  };
}

/**
 * GET /admin/v1/usage?group_by=team|app|user|feature|model|variant|org|provider&from&to — usage from the ledger, summed per
 * group for requests that started in [from, to) (default: this UTC month so far).
 */
export async function handleUsageApi(req: IncomingMessage, res: ServerResponse, url: URL, ledger: Ledger | null | undefined): Promise<void> {
  if (req.method !== 'GET') throw errors.unknownUrl(req.method ?? 'GET', url.pathname);
  if (!ledger) {
    throw new GatewayError({ status: 404, type: 'invalid_request_error', code: 'ledger_not_configured', message: 'No usage ledger is configured (ledger.sink).' });
  }
  const groupBy = url.searchParams.get('group_by') ?? '';
  if (!isGroupBy(groupBy)) {
    throw errors.badRequest(`'group_by' must be one of ${Object.keys(GROUP_COLUMNS).join(', ')}.`, 'group_by');
  }
  const now = Date.now();
  const to = parseTime(url.searchParams.get('to'), 'to', now);
  const from = parseTime(url.searchParams.get('from'), 'from', startOfMonthUtc(to));
  if (from >= to) throw errors.badRequest("'from' must be before 'to'.", 'from');
  const groups = await ledger.aggregate({ groupBy, from, to });
  const total = groups.reduce(
    (sum, g) => ({
      requests: sum.requests + g.requests,
      promptTokens: sum.promptTokens + g.promptTokens,
      completionTokens: sum.completionTokens + g.completionTokens,
      cachedPromptTokens: sum.cachedPromptTokens + g.cachedPromptTokens,
      costNanoUsd: sum.costNanoUsd + g.costNanoUsd,
      savedNanoUsd: sum.savedNanoUsd + g.savedNanoUsd,
      errors: sum.errors + g.errors,
      latencyMsSum: sum.latencyMsSum + g.latencyMsSum,
      latencyCount: sum.latencyCount + g.latencyCount,
      feedbackSum: sum.feedbackSum + g.feedbackSum,
      feedbackCount: sum.feedbackCount + g.feedbackCount,
    }),
    { requests: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, costNanoUsd: 0n, savedNanoUsd: 0n, errors: 0, latencyMsSum: 0, latencyCount: 0, feedbackSum: 0, feedbackCount: 0 },
  );
  sendJson(res, 200, {
    object: 'usage',
    group_by: groupBy,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    data: groups.map((group) => ({ ...group.key, ...sums(group) })),
    total: sums(total),
  });
}
