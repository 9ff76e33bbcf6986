import { loadConfigFile } from '../config/load-config.ts';
import { defaultConfigPath } from './paths.ts';

/**
 * `tollgate keys …` talks to the admin API of the running gateway (the one place that owns the store), with the
 * admin token from TOLLGATE_ADMIN_TOKEN (or the config's admin.token_env).
 */
export async function keysCommand(action: string | undefined, flags: Record<string, string | boolean | undefined>): Promise<void> {
  const config = loadConfigFile(typeof flags.config === 'string' ? flags.config : defaultConfigPath());
  const adminUrl = (typeof flags['admin-url'] === 'string' && flags['admin-url']) ||
    process.env.TOLLGATE_ADMIN_URL || `http://127.0.0.1:${config.admin.port}`;
  const token = process.env[config.admin.token_env] ?? process.env.TOLLGATE_ADMIN_TOKEN;
  if (!token) throw new Error(`set ${config.admin.token_env} to the gateway's admin token`);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${adminUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload = await response.json() as { error?: { message: string } };
    if (!response.ok) throw new Error(payload.error?.message ?? `admin API answered ${response.status}`);
    return payload;
  };
  const str = (name: string) => (typeof flags[name] === 'string' ? flags[name] : undefined);
  const id = str('id');
  const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  switch (action) {
    case 'create': {
      const created = await call('POST', '/keys', { org: str('org'), team: str('team'), app: str('app'), name: str('name'), expires_at: str('expires-at') }) as { key: string; record: { id: string } };
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(`key ${created.record.id} created; this is the only time the key is shown.\n`);
      return;
    }
    case 'list': {
      const query = new URLSearchParams(Object.entries({ org: str('org'), team: str('team'), app: str('app') }).flatMap(([k, v]): Array<[string, string]> => (v ? [[k, v]] : [])));
      return print(await call('GET', `/keys${query.size ? `?${query}` : ''}`));
    }
    case 'revoke':
      return print(await call('POST', `/keys/${requireId(id)}/revoke`));
    case 'rotate': {
      const rotated = await call('POST', `/keys/${requireId(id)}/rotate`, { grace_seconds: Number(str('grace-seconds') ?? 3600) }) as { key: string };
      process.stdout.write(`${rotated.key}\n`);
      process.stderr.write('new key issued; the old one stays valid for the grace period.\n');
      return;
    }
    case 'expire':
      return print(await call('PATCH', `/keys/${requireId(id)}`, { expires_at: str('at') ?? null }));
    default:
      throw new Error('usage: tollgate keys create --team T --app A [--org O] [--name N] [--expires-at ISO] | list [--team T] | revoke --id ID | rotate --id ID [--grace-seconds S] | expire --id ID [--at ISO]');
  }
}

function requireId(id: string | undefined): string {
  if (!id) throw new Error('--id is required');
  return id;
}
