import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from '../errors/errors.ts';
import { KILL_SWITCH_SCOPES, type KillSwitches, type KillSwitchScope } from '../routing/kill-switches.ts';
import { optionalString, readJson, sendJson } from './http.ts';

/**
 * /admin/v1/kill-switches — GET lists the switches that are on; PUT /{provider|model|feature}/{name} turns one on
 * (body: {"reason": "…"}); DELETE /{scope}/{name} turns it off. Effective on every Tollgate within the refresh time.
 */
export async function handleKillSwitchApi(req: IncomingMessage, res: ServerResponse, segments: string[], switches: KillSwitches): Promise<void> {
  const method = req.method ?? 'GET';
  const [scope, ...nameParts] = segments;
  if (!scope && method === 'GET') return sendJson(res, 200, { data: await switches.list() });
  if (!scope || !(KILL_SWITCH_SCOPES as readonly string[]).includes(scope)) {
    throw errors.badRequest(`The scope must be one of ${KILL_SWITCH_SCOPES.join(', ')}.`, 'scope');
  }
  const name = decodeURIComponent(nameParts.join('/'));
  if (!name) throw errors.badRequest('A name is required: /admin/v1/kill-switches/{scope}/{name}.', 'name');
  if (method === 'PUT') {
    const body = await readJson(req);
    return sendJson(res, 200, await switches.turnOn(scope as KillSwitchScope, name, optionalString(body, 'reason') ?? null));
  }
  if (method === 'DELETE') {
    const wasOn = await switches.turnOff(scope as KillSwitchScope, name);
    return sendJson(res, wasOn ? 200 : 404, { scope, name, on: false, was_on: wasOn });
  }
  throw errors.unknownUrl(method, `/admin/v1/kill-switches/${segments.join('/')}`);
}
