import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (src/cli/ → ../..), so the CLI works from any working directory. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TOLLGATE_CONFIG ?? resolve(projectRoot, 'config/tollgate.yaml'));
}
