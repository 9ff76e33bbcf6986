import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load-config.ts';
import type { TollgateConfig } from '../config/types.ts';
import { envoyBinary, startEnvoy, waitForEnvoyReady } from '../envoy/envoy-process.ts';
import { renderEnvoyConfig } from '../envoy/render-envoy-config.ts';
import { writeEnvoyConfig } from '../envoy/write-envoy-config.ts';
import { startTollgate } from '../gateway.ts';
import { createLogger } from '../observability/logger.ts';
import { demoNeeded, startDemoProviders } from './demo-providers.ts';
import { projectRoot } from './paths.ts';

/** `npm start`: Envoy on :10000 + Tollgate + the embedded store (+ the demo provider). Ctrl-C stops them all. */
export async function startCommand(options: { configPath: string }): Promise<void> {
  const config = loadConfigFile(options.configPath);
  const logger = createLogger(config.logging.level);
  // TOLLGATE_RUN_DIR keeps two gateways (or a test beside a running one) from sharing Envoy's watched files.
  const runDir = resolve(process.env.TOLLGATE_RUN_DIR ?? resolve(projectRoot, '.run'), 'envoy');
  const adminUrl = `http://${config.envoy.admin.address}:${config.envoy.admin.port}`;

  const demo = demoNeeded(config) ? await startDemoProviders(config) : null;
  const providerBaseUrls = demo?.baseUrls ?? {};
  const demoKey = process.env.TOLLGATE_DEMO_KEY?.trim() || `tg-demo-${randomBytes(12).toString('base64url')}`;
  const adminTokenEnv = config.admin.token_env;
  const generatedAdminToken = process.env[adminTokenEnv] ? null : `tga-${randomBytes(18).toString('base64url')}`;
  if (generatedAdminToken) process.env[adminTokenEnv] = generatedAdminToken;

  const tollgate = await startTollgate({
    config,
    configPath: options.configPath,
    providerBaseUrls,
    extraKeys: config.demo ? [{ key: demoKey, id: 'demo', ...config.demo }] : [],
    envoy: { dir: runDir, adminUrl },
    logger,
  });
  await writeEnvoyConfig(runDir, renderEnvoyConfig(config, { dir: runDir, providerBaseUrls }));
  const envoy = startEnvoy({
    binary: envoyBinary(projectRoot),
    configPath: resolve(runDir, 'envoy.yaml'),
    onOutput: (line) => logger.warn({ component: 'envoy' }, line),
  });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping');
    await envoy.stop();
    await tollgate.stop();
    await demo?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  void envoy.exited.then((code) => {
    if (!stopping) {
      logger.error({ code }, 'Envoy exited');
      void stop(1);
    }
  });
  await waitForEnvoyReady(adminUrl, envoy);

  const host = config.listener.address === '0.0.0.0' ? 'localhost' : config.listener.address;
  const baseUrl = `${config.listener.tls ? 'https' : 'http'}://${host}:${config.listener.port}/v1`;
  const model = Object.entries(config.models).find(([, m]) => m.kind === 'chat')?.[0] ?? 'gpt-4o-mini';
  process.stdout.write([
    '',
    `Tollgate is running${demo ? ' with demo providers (no provider key configured)' : ''}.`,
    `  base URL     ${baseUrl}`,
    config.demo ? `  demo key     ${demoKey}   (tenant ${config.demo.org}/${config.demo.team}/${config.demo.app})` : '',
    `  admin        http://${config.admin.address}:${tollgate.adminPort}  (/healthz, /metrics, /admin/v1)`,
    generatedAdminToken ? `  admin token  ${generatedAdminToken}   (set ${adminTokenEnv} to choose one)` : '',
    '',
    'Try it:',
    `  curl ${baseUrl}/chat/completions -H "Authorization: Bearer ${config.demo ? demoKey : '<virtual key>'}" \\`,
    `    -H "Content-Type: application/json" -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].filter((line, i, all) => line !== '' || all[i - 1] !== '').join('\n'));
}
