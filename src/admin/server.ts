import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ConfigHolder } from '../config/config-holder.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { errors } from '../errors/errors.ts';
import type { KeyStore } from '../keys/key-store.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { KillSwitches } from '../routing/kill-switches.ts';
import type { Store } from '../store/store.ts';
import { sendError, sendJson } from './http.ts';
import { handleKeysApi } from './keys-api.ts';
import { handleKillSwitchApi } from './kill-switch-api.ts';
import { handlePolicyApi, type PolicyAdminDeps } from './policy-api.ts';
import { handleUsageApi } from './usage-api.ts';
import { handleDashboard, sendDashboardSummary } from './dashboard.ts';
import type { DashboardDeps } from './dashboard-summary.ts';
import { DashboardSessions } from './dashboard-sessions.ts';
import { SignInLimit } from './sign-in-limit.ts';
import { handleQuotaRebuildApi } from './quota-rebuild-api.ts';
import type { BudgetRebuild } from '../quota/rebuild.ts';

export interface AdminServerDeps {
  address: string;
  port: number;
  /** The admin token (never a virtual key); null disables /admin/v1. */
  adminToken: () => string | null;
  store: Store;
  keys: KeyStore;
  config: ConfigHolder;
  metrics: GatewayMetrics;
  logger: Logger;
  reloadConfig: () => Promise<{ changed: boolean }>;
  status: () => Record<string, unknown>;
  killSwitches: KillSwitches;
  /** The usage ledger, when one is configured (GET /admin/v1/usage). */
  ledger?: Ledger | null;
  /** Rebuilds budget counters from the ledger (POST /admin/v1/quotas/rebuild); null without Redis + ledger. */
  quotaRebuild?: BudgetRebuild | null;
  /** The policy bundle and its audit log, when a policy is configured (/admin/v1/policies, /admin/v1/decisions). */
  policy?: PolicyAdminDeps | null;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** 401 without a token, 403 with a wrong one (a virtual key is a wrong one). */
function checkAdminToken(req: IncomingMessage, expected: string | null): GatewayError | null {
  if (!expected) {
    return new GatewayError({ status: 403, type: 'permission_error', code: 'admin_disabled', message: 'The admin API is disabled: no admin token is configured.' });
  }
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) return errors.missingKey();
  if (!timingSafeEqual(digest(match[1].trim()), digest(expected))) {
    return new GatewayError({ status: 403, type: 'permission_error', code: 'invalid_admin_token', message: 'This token may not use the admin API.' });
  }
  return null;
}

/** What the dashboard reads: the ledger, budgets from the live config, kill switches, the audit log, the metrics. */
function dashboardDeps(deps: AdminServerDeps, ledger: Ledger): DashboardDeps {
  return {
    ledger,
    quotas: () => deps.config.catalog().config.quotas,
    killSwitches: deps.killSwitches,
    audit: deps.policy?.audit ?? null,
    metrics: deps.metrics,
    now: Date.now,
  };
}

const ledgerMissing = () =>
  new GatewayError({ status: 404, type: 'invalid_request_error', code: 'ledger_not_configured', message: 'No usage ledger is configured (ledger.sink).' });

interface DashboardState {
  sessions: DashboardSessions;
  signInLimit: SignInLimit;
}

async function route(req: IncomingMessage, res: ServerResponse, deps: AdminServerDeps, dashboard: DashboardState): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  if (url.pathname === '/dashboard' || url.pathname.startsWith('/dashboard/')) {
    const ledger = deps.ledger;
    if (!ledger) throw ledgerMissing();
    return handleDashboard(req, res, url, {
      ...dashboardDeps(deps, ledger), ...dashboard, adminToken: deps.adminToken, settings: () => deps.config.catalog().config.admin.dashboard,
    });
  }
  if (url.pathname === '/healthz' && req.method === 'GET') {
    const store = await deps.store.ping().then(() => 'ok', (error: Error) => `error: ${error.message}`);
    const healthy = store === 'ok';
    return sendJson(res, healthy ? 200 : 503, { status: healthy ? 'ok' : 'degraded', store: { kind: deps.store.kind, status: store }, ...deps.status() });
  }
  if (url.pathname === '/metrics' && req.method === 'GET') {
    const body = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
    res.end(body);
    return;
  }
  if (url.pathname.startsWith('/admin/v1/')) {
    const denied = checkAdminToken(req, deps.adminToken());
    if (denied) return sendError(res, denied);
    const segments = url.pathname.slice('/admin/v1/'.length).split('/').filter(Boolean);
    if (segments[0] === 'keys') return handleKeysApi(req, res, segments.slice(1), deps);
    if (segments[0] === 'kill-switches') return handleKillSwitchApi(req, res, segments.slice(1), deps.killSwitches);
    if (segments[0] === 'usage' && segments.length === 1) return handleUsageApi(req, res, url, deps.ledger);
    if (segments[0] === 'dashboard' && segments.length === 1 && req.method === 'GET') {
      if (!deps.ledger) throw ledgerMissing();
      return sendDashboardSummary(res, url, dashboardDeps(deps, deps.ledger));
    }
    if (segments[0] === 'quotas' && segments[1] === 'rebuild' && segments.length === 2) return handleQuotaRebuildApi(req, res, url, deps.quotaRebuild);
    if (segments[0] === 'policies' || segments[0] === 'decisions') return handlePolicyApi(req, res, segments, url, deps.policy ?? null);
    if (segments[0] === 'config' && segments[1] === 'reload' && req.method === 'POST') {
      return sendJson(res, 200, await deps.reloadConfig());
    }
  }
  return sendError(res, errors.unknownUrl(req.method ?? 'GET', url.pathname));
}

export async function startAdminServer(deps: AdminServerDeps): Promise<{ port: number; stop(): Promise<void> }> {
  // In the configured store: with Redis, sessions and sign-in failures are shared by every Tollgate process.
  const dashboard = { sessions: new DashboardSessions({ store: deps.store }), signInLimit: new SignInLimit({ store: deps.store }) };
  const server = createServer((req, res) => {
    route(req, res, deps, dashboard).catch((error: unknown) => {
      if (error instanceof GatewayError) return sendError(res, error);
      deps.logger.error({ err: error, path: req.url }, 'admin request failed');
      sendError(res, new GatewayError({ status: 500, type: 'api_error', code: 'internal_error', message: 'Admin request failed.' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.address, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
