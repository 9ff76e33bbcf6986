import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Migration {
  /** The file name's numeric prefix, e.g. "0001"; applied in this order, each once. */
  version: string;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');

/**
 * The migrations of one dialect: `migrations/NNNN_name.<dialect>.sql`. Both dialects keep the same numbers, so a
 * schema change is one version with two files.
 */
export function loadMigrations(dialect: 'postgres' | 'sqlite', dir = MIGRATIONS_DIR): Migration[] {
  const suffix = `.${dialect}.sql`;
  return readdirSync(dir)
    .filter((file) => file.endsWith(suffix))
    .sort()
    .map((file) => {
      const match = /^(\d+)_(.+)$/.exec(file.slice(0, -suffix.length));
      if (!match?.[1] || !match[2]) throw new Error(`ledger migration ${file}: name it NNNN_name${suffix}`);
      return { version: match[1], name: match[2], sql: readFileSync(join(dir, file), 'utf8') };
    });
}
