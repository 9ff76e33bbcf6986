import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { errors } from '../errors/errors.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { FILTER_FIELDS, type UsageFilters } from '../ledger/sink.ts';
import { DASHBOARD_GROUPS, dashboardSummary, type DashboardDeps, type DashboardGroup, type DashboardQuery } from './dashboard-summary.ts';
import { sha256, type DashboardSessions } from './dashboard-sessions.ts';
import { sendError, sendJson } from './http.ts';
import type { SignInLimit } from './sign-in-limit.ts';

export const SESSION_COOKIE = 'tollgate_dashboard';
const ASSETS_DIR = join(import.meta.dirname, '..', 'dashboard');
const require = createRequire(import.meta.url);

/** Served files: the page's own, and the pinned chart library from node_modules (no CDN). */
const ASSETS: Record<string, { path: () => string; type: string }> = {
  'dashboard.js': { path: () => join(ASSETS_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: () => join(ASSETS_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'uplot.js': { path: () => join(require.resolve('uplot'), '..', 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uplot.css': { path: () => join(require.resolve('uplot'), '..', 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Scripts and styles from this origin only, no framing, nothing sent elsewhere. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface DashboardHttpDeps extends DashboardDeps {
  sessions: DashboardSessions;
  signInLimit: SignInLimit;
  adminToken: () => string | null;
  settings: () => { enabled: boolean; session_ttl_seconds: number; secure_cookie: 'auto' | 'always' };
}

const DAY = 86_400_000;
const MAX_FILTER = 256;

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * State-changing requests (sign in, sign out) must come from a page of this origin: the Origin header browsers add
 * to every POST must name this host. With the SameSite=Strict cookie this makes cross-site form posts useless.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new GatewayError({ status: 413, type: 'invalid_request_error', code: 'request_too_large', message: 'Form too large.' });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const tokenMatches = (given: string, expected: string) => timingSafeEqual(Buffer.from(sha256(given)), Buffer.from(sha256(expected)));

async function sendPage(res: ServerResponse, status: number, file: string, replacements: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<void> {
  let html = await readFile(join(ASSETS_DIR, file), 'utf8');
  for (const [marker, value] of Object.entries(replacements)) html = html.replace(marker, value);
  res.writeHead(status, { ...PAGE_HEADERS, ...headers, 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

function redirect(res: ServerResponse, location: string, setCookie?: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...(setCookie ? { 'set-cookie': setCookie } : {}) });
  res.end();
}

function sessionCookie(req: IncomingMessage, value: string, maxAgeSeconds: number, secure: 'auto' | 'always'): string {
  const tls = secure === 'always' || Boolean((req.socket as TLSSocket).encrypted);
  return `${SESSION_COOKIE}=${value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${tls ? '; Secure' : ''}`;
}

function parseTime(value: string | null, field: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw errors.badRequest(`'${field}' must be an ISO-8601 date or date-time.`, field);
  return time;
}

/** ?from&to (ISO; default the last 7 days), group_by, and one optional equality filter per tenant field. */
export function parseDashboardQuery(url: URL, now: number): DashboardQuery {
  const params = url.searchParams;
  const to = parseTime(params.get('to'), 'to', now);
  const from = parseTime(params.get('from'), 'from', to - 7 * DAY);
  if (from >= to) throw errors.badRequest("'from' must be before 'to'.", 'from');
  if (to - from > 400 * DAY) throw errors.badRequest('The range may span at most 400 days.', 'from');
  const groupBy = params.get('group_by') || 'team';
  if (!(DASHBOARD_GROUPS as readonly string[]).includes(groupBy)) {
    throw errors.badRequest(`'group_by' must be one of ${DASHBOARD_GROUPS.join(', ')}.`, 'group_by');
  }
  const where: UsageFilters = {};
  for (const field of FILTER_FIELDS) {
    const value = params.get(field);
    if (value === null || value === '') continue;
    if (value.length > MAX_FILTER) throw errors.badRequest(`'${field}' is too long.`, field);
    where[field] = value;
  }
  return { from, to, groupBy: groupBy as DashboardGroup, where };
}

export async function sendDashboardSummary(res: ServerResponse, url: URL, deps: DashboardDeps): Promise<void> {
  sendJson(res, 200, await dashboardSummary(deps, parseDashboardQuery(url, deps.now())));
}

/**
 * /dashboard — the usage dashboard: a sign-in form (the admin token, posted once, exchanged for an HttpOnly
 * SameSite=Strict session cookie; never in a URL), the page and its assets, and /dashboard/api/summary for the
 * page's data. The same data is at GET /admin/v1/dashboard with the admin token as a bearer token.
 */
export async function handleDashboard(req: IncomingMessage, res: ServerResponse, url: URL, deps: DashboardHttpDeps): Promise<void> {
  const settings = deps.settings();
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '') || '/dashboard';
  if (!settings.enabled) throw errors.unknownUrl(method, url.pathname);
  const token = deps.adminToken();
  const signedIn = await deps.sessions.valid(cookie(req, SESSION_COOKIE), token);

  if (path === '/dashboard/login' && method === 'POST') {
    if (!sameOrigin(req)) throw new GatewayError({ status: 403, type: 'permission_error', code: 'cross_origin_request', message: 'Sign in from the dashboard page itself.' });
    const given = (await readForm(req)).get('token')?.trim() ?? '';
    if (!token) return sendPage(res, 403, 'login.html', { '<!--MESSAGE-->': '<p class="error" role="alert">The admin API is disabled: no admin token is configured.</p>' });
    // Guessing the token is slowed per client address (5 failures a minute), checked before the token is compared.
    const client = req.socket.remoteAddress ?? 'unknown';
    const retryAfter = await deps.signInLimit.retryAfterSeconds(client);
    if (retryAfter !== null) {
      return sendPage(res, 429, 'login.html', {
        '<!--MESSAGE-->': `<p class="error" role="alert">Too many failed sign-ins. Try again in ${retryAfter} seconds.</p>`,
      }, { 'retry-after': String(retryAfter) });
    }
    if (!given || !tokenMatches(given, token)) {
      await deps.signInLimit.recordFailure(client);
      return sendPage(res, 401, 'login.html', { '<!--MESSAGE-->': '<p class="error" role="alert">That token is not the admin token.</p>' });
    }
    const id = await deps.sessions.open(token, settings.session_ttl_seconds * 1000);
    return redirect(res, '/dashboard', sessionCookie(req, id, settings.session_ttl_seconds, settings.secure_cookie));
  }
  if (path === '/dashboard/logout' && method === 'POST') {
    if (!sameOrigin(req)) throw new GatewayError({ status: 403, type: 'permission_error', code: 'cross_origin_request', message: 'Sign out from the dashboard page itself.' });
    await deps.sessions.close(cookie(req, SESSION_COOKIE));
    return redirect(res, '/dashboard', sessionCookie(req, '', 0, settings.secure_cookie));
  }
  if (method !== 'GET') throw errors.unknownUrl(method, url.pathname);

  const asset = path.startsWith('/dashboard/assets/') ? ASSETS[path.slice('/dashboard/assets/'.length)] : undefined;
  if (asset) {
    // The assets hold no data: served without a session so the sign-in page can use the stylesheet.
    const body = await readFile(asset.path());
    res.writeHead(200, { 'content-type': asset.type, 'content-length': body.length, 'cache-control': 'private, max-age=300', 'x-content-type-options': 'nosniff' });
    res.end(body);
    return;
  }
  if (path === '/dashboard') {
    return signedIn ? sendPage(res, 200, 'index.html') : sendPage(res, 200, 'login.html', { '<!--MESSAGE-->': '' });
  }
  if (path === '/dashboard/api/summary') {
    if (!signedIn) return sendError(res, errors.missingKey());
    res.setHeader('cache-control', 'no-store');
    return sendDashboardSummary(res, url, deps);
  }
  throw errors.unknownUrl(method, url.pathname);
}
