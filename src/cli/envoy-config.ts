import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load-config.ts';
import { renderEnvoyConfig } from '../envoy/render-envoy-config.ts';
import { writeEnvoyConfig } from '../envoy/write-envoy-config.ts';
import { defaultConfigPath, projectRoot } from './paths.ts';

/** `tollgate envoy-config [--config F] [--out DIR]`: renders envoy/ from the config; never edit envoy/ by hand. */
export async function envoyConfigCommand(args: { config?: string; out?: string }): Promise<void> {
  const config = loadConfigFile(args.config ? resolve(args.config) : defaultConfigPath());
  const dir = args.out ?? config.envoy.config_dir;
  const written = await writeEnvoyConfig(resolve(projectRoot, dir), renderEnvoyConfig(config, { dir }));
  process.stdout.write(written.length ? `wrote ${written.map((f) => `${dir}/${f}`).join(', ')}\n` : `${dir}/ is up to date\n`);
}
