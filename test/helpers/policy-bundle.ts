import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const projectRoot = resolve(import.meta.dirname, '../..');

export interface BundleSource {
  /** Replaces policies/data.json. */
  data?: unknown;
  /** Extra or replacement Rego files, by path under the source root (e.g. tollgate/rules/extra.rego). */
  rego?: Record<string, string>;
  /** Start from an empty directory instead of a copy of policies/ (for deliberately odd bundles). */
  empty?: boolean;
}

/**
 * Builds a bundle with the real build script (opa check + opa build -t wasm), from a copy of policies/ with the
 * given changes, into `out` (default: a new temp file). Returns the bundle path.
 */
export async function buildPolicyBundle(source: BundleSource = {}, out?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-src-'));
  if (!source.empty) {
    await cp(join(projectRoot, 'policies/tollgate'), join(dir, 'tollgate'), { recursive: true });
    await cp(join(projectRoot, 'policies/data.json'), join(dir, 'data.json'));
  }
  if (source.data !== undefined) await writeFile(join(dir, 'data.json'), JSON.stringify(source.data));
  for (const [path, text] of Object.entries(source.rego ?? {})) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const target = out ?? join(dir, 'build', 'bundle.tar.gz');
  await run(join(projectRoot, 'scripts/policy-build'), ['--src', dir, '--out', target]);
  return target;
}

