import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** How many closed files to keep, and for how long. Unset fields keep everything. */
export interface RetentionSettings {
  /** The newest this many closed files are kept; older ones are deleted. */
  max_files?: number;
  /** Closed files whose last write is older than this are deleted. */
  max_age_days?: number;
}

export const retentionSchema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    max_files: { type: 'integer', minimum: 1 },
    max_age_days: { type: 'number', exclusiveMinimum: 0 },
  },
} as const;

/** A sortable UTC stamp for rotated file names (`20261207T165400123Z`): name order is time order. */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}

/**
 * Deletes closed files of `dir` whose names `isClosed` accepts, beyond the retention settings: oldest first by
 * name (their stamps), then any older than max_age_days by modification time. Returns the names deleted.
 * Files being written are never passed (the caller's `isClosed` excludes them).
 */
export async function pruneClosedFiles(
  dir: string, isClosed: (name: string) => boolean, retention: RetentionSettings, now: number,
): Promise<string[]> {
  if (retention.max_files === undefined && retention.max_age_days === undefined) return [];
  const names = (await readdir(dir).catch(() => [] as string[])).filter(isClosed).sort();
  const doomed = new Set<string>();
  if (retention.max_files !== undefined && names.length > retention.max_files) {
    for (const name of names.slice(0, names.length - retention.max_files)) doomed.add(name);
  }
  if (retention.max_age_days !== undefined) {
    const cutoff = now - retention.max_age_days * 86_400_000;
    for (const name of names) {
      if (doomed.has(name)) continue;
      const info = await stat(join(dir, name)).catch(() => null);
      if (info && info.mtimeMs < cutoff) doomed.add(name);
    }
  }
  const deleted: string[] = [];
  for (const name of doomed) {
    // Another process may have deleted it first: that is the same outcome.
    await unlink(join(dir, name)).then(() => deleted.push(name), () => undefined);
  }
  return deleted;
}
