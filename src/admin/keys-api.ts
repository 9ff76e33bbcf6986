import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConfigHolder } from '../config/config-holder.ts';
import { errors } from '../errors/errors.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { KeyNotFoundError, type KeyStore } from '../keys/key-store.ts';
import { optionalString, readJson, sendJson } from './http.ts';

/** Resolves `--team T --app A` to a tenant; the org may be omitted when the team name is unique. */
export function resolveTenant(config: ConfigHolder, input: { org?: string; team?: string; app?: string }) {
  const orgs = config.catalog().config.orgs;
  if (!input.team || !input.app) throw errors.badRequest("'team' and 'app' are required.", input.team ? 'app' : 'team');
  const candidates = input.org ? [input.org] : Object.keys(orgs).filter((org) => orgs[org]?.teams[input.team as string]);
  if (candidates.length > 1) throw errors.badRequest(`Team ${input.team} exists in several orgs (${candidates.join(', ')}); give 'org'.`, 'org');
  const org = candidates[0];
  if (!org || !orgs[org]?.teams[input.team]) throw errors.badRequest(`Unknown team ${input.team}.`, 'team');
  if (!orgs[org]?.teams[input.team]?.apps[input.app]) throw errors.badRequest(`Unknown app ${input.app} in team ${input.team}.`, 'app');
  return { org, team: input.team, app: input.app };
}

function parseExpiry(value: string | undefined, field: string): string | null {
  if (value === undefined) return null;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw errors.badRequest(`'${field}' must be an ISO-8601 date-time.`, field);
  return new Date(time).toISOString();
}

/**
 * /admin/v1/keys — create, list, show, revoke, rotate and expire virtual keys. Changes are written to the store,
 * so every Tollgate process sees them on the next request, without a restart.
 */
export async function handleKeysApi(
  req: IncomingMessage,
  res: ServerResponse,
  segments: string[],
  deps: { keys: KeyStore; config: ConfigHolder },
): Promise<void> {
  const [id, action] = segments;
  const method = req.method ?? 'GET';
  try {
    if (!id && method === 'GET') {
      const url = new URL(req.url ?? '/', 'http://admin');
      const filter = Object.fromEntries(['org', 'team', 'app'].flatMap((f) => {
        const v = url.searchParams.get(f);
        return v ? [[f, v]] : [];
      }));
      return sendJson(res, 200, { object: 'list', data: await deps.keys.list(filter) });
    }
    if (!id && method === 'POST') {
      const body = await readJson(req);
      const tenant = resolveTenant(deps.config, {
        org: optionalString(body, 'org'), team: optionalString(body, 'team'), app: optionalString(body, 'app'),
      });
      const created = await deps.keys.create({
        ...tenant,
        name: optionalString(body, 'name') ?? null,
        expiresAt: parseExpiry(optionalString(body, 'expires_at'), 'expires_at'),
      });
      return sendJson(res, 201, { key: created.key, record: created.record });
    }
    if (id && !action && method === 'GET') return sendJson(res, 200, await deps.keys.get(id));
    if (id && !action && method === 'PATCH') {
      const body = await readJson(req);
      if (!('expires_at' in body)) throw errors.badRequest("Only 'expires_at' can be changed.", 'expires_at');
      const expiry = body.expires_at === null ? null : parseExpiry(optionalString(body, 'expires_at'), 'expires_at');
      return sendJson(res, 200, await deps.keys.setExpiry(id, expiry));
    }
    if (id && action === 'revoke' && method === 'POST') return sendJson(res, 200, await deps.keys.revoke(id));
    if (id && action === 'rotate' && method === 'POST') {
      const body = await readJson(req);
      const grace = body.grace_seconds ?? 3600;
      if (typeof grace !== 'number' || grace < 0) throw errors.badRequest("'grace_seconds' must be a number ≥ 0.", 'grace_seconds');
      const rotated = await deps.keys.rotate(id, { graceSeconds: grace });
      return sendJson(res, 200, { key: rotated.key, record: rotated.record });
    }
    throw errors.unknownUrl(method, req.url ?? '');
  } catch (error) {
    if (error instanceof KeyNotFoundError) {
      throw new GatewayError({ status: 404, type: 'not_found_error', code: 'key_not_found', message: `No key with id ${id}.` });
    }
    throw error;
  }
}
