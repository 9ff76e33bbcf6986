import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from '../errors/errors.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { BudgetRebuild } from '../quota/rebuild.ts';
import { sendJson } from './http.ts';

/**
 * POST /admin/v1/quotas/rebuild — recomputes the budget counters of the current day and month from the usage
 * ledger (see quota/rebuild.ts: counters are only raised, reservations in flight are kept). 409 while another
 * replica rebuilds; 404 without a Redis store and a ledger, where there is nothing to rebuild from or into.
 */
export async function handleQuotaRebuildApi(req: IncomingMessage, res: ServerResponse, url: URL, rebuild: BudgetRebuild | null | undefined): Promise<void> {
  if (req.method !== 'POST') throw errors.unknownUrl(req.method ?? 'GET', url.pathname);
  if (!rebuild) {
    throw new GatewayError({
      status: 404, type: 'invalid_request_error', code: 'quota_rebuild_unavailable',
      message: 'Budget counters can be rebuilt only with the Redis store and a usage ledger (ledger.sink).',
    });
  }
  const report = await rebuild.rebuild('admin request');
  if (report.status === 'busy') {
    throw new GatewayError({
      status: 409, type: 'invalid_request_error', code: 'quota_rebuild_in_progress',
      message: 'Another Tollgate process is rebuilding the budget counters right now; retry in a few seconds.',
      headers: { 'retry-after': '2' },
    });
  }
  sendJson(res, 200, report);
}
