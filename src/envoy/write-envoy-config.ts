import { mkdir, rename, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RenderedEnvoyConfig } from './render-envoy-config.ts';

/**
 * Writes the rendered files. Each file is written beside its target and renamed over it: Envoy watches the
 * directory for moves, so it only ever reads whole files. Unchanged files are left alone.
 * Returns the names of the files that changed.
 */
export async function writeEnvoyConfig(dir: string, rendered: RenderedEnvoyConfig): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const changed: string[] = [];
  // Clusters before the routes that use them; the bootstrap last, so it never points at files not written yet.
  for (const name of ['listener-cert.yaml', 'client-ca.yaml', 'clusters.yaml', 'routes.yaml', 'envoy.yaml'] as const) {
    const text = rendered.files[name];
    const target = join(dir, name);
    const current = await readFile(target, 'utf8').catch(() => null);
    if (current === text) continue;
    const temp = join(dir, `.${name}.${process.pid}.tmp`);
    await writeFile(temp, text);
    await rename(temp, target);
    changed.push(name);
  }
  return changed;
}
