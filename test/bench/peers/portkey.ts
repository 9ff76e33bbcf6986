import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../helpers/free-port.ts';
import { startWatched } from '../lib/processes.ts';
import { JSON_HEADERS, type ContenderSpec } from './contender.ts';

/**
 * Portkey's open-source gateway (npm @portkey-ai/gateway, pinned in peers/portkey/package.json, installed by
 * peers/setup), its Node server on the same Node 24 as Tollgate, headless (no UI). It has no auth of its own by
 * default: the caller's Authorization header is the provider key it forwards. Routing is per request:
 * `x-portkey-provider: openai` + `x-portkey-custom-host: <fake base URL>` (loopback custom hosts are allowed by its
 * default TRUSTED_CUSTOM_HOSTS).
 */
export const portkey: ContenderSpec = {
  name: 'portkey',
  description: 'Portkey gateway (Node server, headless), routed per request with x-portkey-provider + x-portkey-custom-host; no gateway auth (none by default)',
  async start(ctx) {
    const packageDir = join(ctx.peersDir, 'portkey/node_modules/@portkey-ai/gateway');
    const server = join(packageDir, 'build/start-server.js');
    if (!existsSync(server)) throw new Error(`Portkey is not installed (${server}); run test/bench/peers/setup`);
    const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
    const honoVersion = (JSON.parse(readFileSync(join(ctx.peersDir, 'portkey/node_modules/hono/package.json'), 'utf8')) as { version: string }).version;
    const port = await freePort();
    const started = ctx.group.add(await startWatched({
      command: process.execPath,
      args: [server, `--port=${port}`, '--headless'],
      cwd: join(ctx.peersDir, 'portkey'),
      env: { ...process.env, NODE_ENV: 'production' },
      readyLine: /Ready for connections/,
    }));
    return {
      name: 'portkey',
      label: 'Portkey gateway',
      version,
      origin: `http://127.0.0.1:${port}`,
      headers: {
        ...JSON_HEADERS,
        authorization: `Bearer ${ctx.fake.apiKey}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': ctx.fake.url,
      },
      roots: () => [started.pid],
      processes: () => ({ portkey: [started.pid] }),
      setup: {
        auth: 'none (Portkey has no gateway auth by default; the Authorization header is the provider key it forwards)',
        runtime: `node ${process.version}, one process`,
        hono: honoVersion,
        routing: 'x-portkey-provider: openai + x-portkey-custom-host',
      },
      verify: (headers) => (headers['x-portkey-provider'] ? null : 'no x-portkey-provider header: the answer did not come through Portkey'),
    };
  },
};
