import { unwatchFile, watchFile, type Stats } from 'node:fs';

/**
 * Calls `onChange` when a file's content may have changed, by polling its stat (through symlinks) every `intervalMs`.
 *
 * Why polling rather than `fs.watch` on the directory (which it replaces):
 * - A directory watch wakes the process for every write to any file in it. Next to a config or a policy bundle often
 *   live the files Tollgate itself writes on every request (the audit log, a SQLite ledger): at 500 RPS that was ~300
 *   inotify wake-ups a second for nothing (issue 11).
 * - Kubernetes ConfigMap and Secret volumes swap a `..data` symlink: the watched name never appears in a directory
 *   event, so a directory watch keyed on the file name missed every ConfigMap update. A stat through the symlink sees
 *   the new inode at once.
 * One stat per interval costs nothing; the price is up to one interval of delay before a reload starts.
 */
export interface FileChangeWatch {
  close(): void;
}

export const DEFAULT_FILE_POLL_MS = 500;

export function watchFileChanges(path: string, onChange: () => void, intervalMs = DEFAULT_FILE_POLL_MS): FileChangeWatch {
  const listener = (current: Stats, previous: Stats) => {
    // A file that is (still) missing reports zeroed stats; wait until it is back.
    if (current.mtimeMs === 0 && current.ino === 0) return;
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size || current.ctimeMs !== previous.ctimeMs) {
      onChange();
    }
  };
  // persistent: false, like the unref'd watchers before: watching never keeps the process alive on its own.
  watchFile(path, { interval: intervalMs, persistent: false }, listener);
  return { close: () => unwatchFile(path, listener) };
}
