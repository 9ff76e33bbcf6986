import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditQuery } from '../audit/audit-record.ts';
import { errors } from '../errors/errors.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { PolicyBundleError } from '../policy/bundle.ts';
import type { PolicyHolder } from '../policy/policy-holder.ts';
import { sendJson } from './http.ts';

export interface PolicyAdminDeps {
  holder: PolicyHolder;
  audit: AuditLog;
}

const MAX_PAGE = 1000;

const notConfigured = () =>
  new GatewayError({ status: 404, type: 'not_found_error', code: 'policy_not_configured', message: 'No policy is configured (config section `policy`).' });

/** ?request_id=&decision=allow|deny&team=&since=<ISO>&limit=&cursor= → an AuditQuery, or 400 naming the bad one. */
function parseQuery(url: URL): AuditQuery {
  const get = (name: string) => url.searchParams.get(name) || undefined;
  const decision = get('decision');
  if (decision !== undefined && decision !== 'allow' && decision !== 'deny') {
    throw errors.badRequest("'decision' must be allow or deny.", 'decision');
  }
  const since = get('since');
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw errors.badRequest("'since' must be an ISO-8601 date-time.", 'since');
  const limitText = get('limit');
  const limit = limitText === undefined ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw errors.badRequest(`'limit' must be an integer from 1 to ${MAX_PAGE}.`, 'limit');
  const cursor = get('cursor');
  if (cursor !== undefined && !/^\d+(:\d+)?$/.test(cursor)) throw errors.badRequest("'cursor' must be a next_cursor from a previous page.", 'cursor');
  return { request_id: get('request_id'), decision, team: get('team'), since, limit, cursor };
}

/**
 * POST /admin/v1/policies/reload — load the bundle file again; an invalid bundle is refused (400) and the running
 * one stays. GET /admin/v1/policies — the live bundle. GET /admin/v1/decisions — the audit log, filtered and paged.
 */
export async function handlePolicyApi(
  req: IncomingMessage,
  res: ServerResponse,
  segments: string[],
  url: URL,
  deps: PolicyAdminDeps | null,
): Promise<void> {
  const method = req.method ?? 'GET';
  const route = `${method} ${segments.join('/')}`;
  if (route !== 'POST policies/reload' && route !== 'GET policies' && route !== 'GET decisions') {
    throw errors.unknownUrl(method, url.pathname);
  }
  if (!deps) throw notConfigured();
  if (route === 'GET policies') return sendJson(res, 200, deps.holder.status());
  if (route === 'GET decisions') {
    const page = await deps.audit.query(parseQuery(url));
    return sendJson(res, 200, { object: 'list', ...page });
  }
  try {
    return sendJson(res, 200, await deps.holder.reload());
  } catch (error) {
    if (error instanceof PolicyBundleError) throw errors.badRequest(error.message, null, 'invalid_policy_bundle');
    throw error;
  }
}
