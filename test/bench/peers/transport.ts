import { join } from 'node:path';
import { freePort } from '../../helpers/free-port.ts';
import { startEnvoyAt, writeBareEnvoyConfig } from '../lib/processes.ts';
import { versions } from '../lib/run-info.ts';
import { JSON_HEADERS, type ContenderSpec } from './contender.ts';

/** The two floors every gateway is measured against: no gateway at all, and Envoy proxying with nothing on it. */

/** The gateway's default response buffer, used for bare Envoy as in the overhead benchmark. */
const BUFFER_LIMIT_BYTES = 32 * 1024 * 1024;

export const direct: ContenderSpec = {
  name: 'direct',
  description: 'the load generator calls the fake provider itself: the floor every "added" figure is measured from',
  async start(ctx) {
    return {
      name: 'direct', label: 'direct → fake', version: '—',
      origin: new URL(ctx.fake.url).origin,
      headers: { ...JSON_HEADERS, authorization: `Bearer ${ctx.fake.apiKey}` },
      roots: () => [],
      setup: {},
    };
  },
};

export const bareEnvoy: ContenderSpec = {
  name: 'envoy',
  description: 'Envoy with a static listener → HTTP/1.1 cluster and the router filter only (the transport floor; same Envoy binary and --concurrency 2 as Tollgate)',
  async start(ctx) {
    const fake = new URL(ctx.fake.url);
    const [listenerPort, adminPort] = [await freePort(), await freePort()];
    const configPath = join(ctx.dir, 'bare-envoy.yaml');
    await writeBareEnvoyConfig(configPath, {
      listenerPort, adminPort, upstreamHost: fake.hostname, upstreamPort: Number(fake.port), bufferLimitBytes: BUFFER_LIMIT_BYTES,
    });
    const envoy = ctx.group.add(await startEnvoyAt(ctx.projectRoot, configPath, adminPort));
    return {
      name: 'envoy', label: 'bare Envoy', version: versions(ctx.projectRoot).envoy,
      origin: `http://127.0.0.1:${listenerPort}`,
      headers: { ...JSON_HEADERS, authorization: `Bearer ${ctx.fake.apiKey}` },
      roots: () => [envoy.pid],
      processes: () => ({ envoy: [envoy.pid] }),
      setup: { concurrency: 2, filters: ['router'] },
    };
  },
};
