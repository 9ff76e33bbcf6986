import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
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
import { tourRequests, tourText, type TourStep } from './tour.ts';

/** The first run has no policy bundle yet: build it from policies/ (a few seconds), saying so. */
function ensurePolicyBundle(config: TollgateConfig): void {
  if (!config.policy || existsSync(resolve(config.policy.bundle))) return;
  process.stdout.write(`Building the policy bundle ${config.policy.bundle} from policies/ (first run)…\n`);
  const built = spawnSync(resolve(projectRoot, 'scripts/policy-build'), ['--out', resolve(config.policy.bundle)], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('scripts/policy-build failed; run scripts/setup first');
}

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
  // One key per tour step, for the apps the config names (demo.tour).
  const tourKeys: Partial<Record<TourStep, string>> = config.demo ? { served: demoKey } : {};
  const tourTenants: Array<{ key: string; id: string; org: string; team: string; app: string }> = [];
  for (const [step, tenant] of Object.entries(config.demo?.tour ?? {}) as Array<[TourStep, { team: string; app: string }]>) {
    if (!config.demo || !tenant) continue;
    const key = `tg-demo-${step}-${randomBytes(9).toString('base64url')}`;
    tourKeys[step] = key;
    tourTenants.push({ key, id: `demo-${step}`, org: config.demo.org, team: tenant.team, app: tenant.app });
  }
  ensurePolicyBundle(config);
  const adminTokenEnv = config.admin.token_env;
  const generatedAdminToken = process.env[adminTokenEnv] ? null : `tga-${randomBytes(18).toString('base64url')}`;
  if (generatedAdminToken) process.env[adminTokenEnv] = generatedAdminToken;

  const tollgate = await startTollgate({
    config,
    configPath: options.configPath,
    providerBaseUrls,
    extraKeys: config.demo ? [{ key: demoKey, id: 'demo', org: config.demo.org, team: config.demo.team, app: config.demo.app }, ...tourTenants] : [],
    envoy: { dir: runDir, adminUrl },
    logger,
  });
  await writeEnvoyConfig(runDir, renderEnvoyConfig(config, { dir: runDir, providerBaseUrls }));
  const envoy = startEnvoy({
    binary: envoyBinary(projectRoot),
    configPath: resolve(runDir, 'envoy.yaml'),
    // Envoy's notice that a field is work-in-progress (allow_custom_methods, used on purpose) is not news to a user.
    onOutput: (line) => (line.includes('is marked as work-in-progress') ? logger.debug({ component: 'envoy' }, line) : logger.warn({ component: 'envoy' }, line)),
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
  const dashboardUrl = `http://${config.admin.address === '0.0.0.0' ? 'localhost' : config.admin.address}:${tollgate.adminPort}/dashboard`;
  const model = Object.entries(config.models).find(([, m]) => m.kind === 'chat')?.[0] ?? 'gpt-4o-mini';
  process.stdout.write([
    '',
    `Tollgate is running${demo ? ' with demo providers (no provider key configured)' : ''}.`,
    `  base URL     ${baseUrl}`,
    config.demo ? `  demo key     ${demoKey}   (tenant ${config.demo.org}/${config.demo.team}/${config.demo.app})` : '',
    `  admin        http://${config.admin.address}:${tollgate.adminPort}  (/healthz, /metrics, /admin/v1)`,
    generatedAdminToken ? `  admin token  ${generatedAdminToken}   (set ${adminTokenEnv} to choose one)` : '',
    '',
    config.demo ? tourText(tourRequests(config, tourKeys, model), baseUrl, config.admin.dashboard.enabled ? dashboardUrl : undefined) : [
      'Try it:',
      `  curl ${baseUrl}/chat/completions -H "Authorization: Bearer <virtual key>" \\`,
      `    -H "Content-Type: application/json" -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
    ].join('\n'),
    '',
    `Usage so far: curl -s -H "Authorization: Bearer <admin token>" http://${config.admin.address}:${tollgate.adminPort}/admin/v1/usage`,
    !config.demo && config.admin.dashboard.enabled ? `Usage dashboard: ${dashboardUrl}  (sign in with the admin token)` : '',
    '',
    'Ctrl-C stops everything.',
    '',
  ].filter((line, i, all) => line !== '' || all[i - 1] !== '').join('\n'));
}
