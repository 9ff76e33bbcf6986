import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load-config.ts';
import { renderEnvoyConfig } from '../envoy/render-envoy-config.ts';
import { writeEnvoyConfig } from '../envoy/write-envoy-config.ts';
import { startTollgate } from '../gateway.ts';
import { createLogger } from '../observability/logger.ts';

/**
 * `tollgate serve`: Tollgate alone, beside an Envoy started by someone else (docker-compose, Kubernetes sidecar).
 * Renders Envoy's files into envoy.config_dir first, so Envoy finds them when it starts, and keeps them current.
 */
export async function serveCommand(options: { configPath: string; extprocPort?: number; adminPort?: number }): Promise<void> {
  const config = loadConfigFile(options.configPath);
  const logger = createLogger(config.logging.level);
  const dir = resolve(config.envoy.config_dir);
  await writeEnvoyConfig(dir, renderEnvoyConfig(config, { dir }));
  const tollgate = await startTollgate({
    config,
    configPath: options.configPath,
    envoy: { dir, adminUrl: `http://${config.envoy.admin.address}:${config.envoy.admin.port}` },
    logger,
    extprocPort: options.extprocPort,
    adminPort: options.adminPort,
  });
  logger.info({ extproc_port: tollgate.extprocPort, admin_port: tollgate.adminPort, envoy_dir: dir }, 'tollgate serving');
  const stop = async () => {
    await tollgate.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
