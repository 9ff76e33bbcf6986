import { spawn } from 'node:child_process';

export interface WatchedChild {
  /** The program's own pid (not its watchdog shell's), known as soon as it started. */
  readonly pid: Promise<number>;
  /** Resolves with the exit code when the program (and its watchdog) ended. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

const PID_MARK = '__TOLLGATE_WATCHED_PID=';

/**
 * Starts `command args…` under a tiny shell watchdog that holds a pipe to this process: if this process dies, even
 * by SIGKILL, the pipe closes and the watchdog stops the program, so no orphan outlives a crashed gateway, test or
 * benchmark. Output lines go to `onLine`, or straight to `logFile` (never through this process).
 */
export function spawnWithWatchdog(options: {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile?: string;
  onLine?: (line: string) => void;
}): WatchedChild {
  const redirect = options.logFile ? ' >"$TOLLGATE_WATCHED_LOG" 2>&1' : '';
  // fd 3 keeps our pipe: a background job's own stdin is /dev/null in a non-interactive shell.
  const script = 'exec 3<&0; trap \'kill -TERM $child 2>/dev/null\' TERM INT; ' +
    `"$0" "$@" <&- 3<&-${redirect} & child=$!; echo "${PID_MARK}$child"; ` +
    '(read _ignored <&3; kill -TERM $child 2>/dev/null) & wait $child; status=$?; wait $child 2>/dev/null; exit $status';
  const child = spawn('/bin/sh', ['-c', script, options.command, ...options.args], {
    cwd: options.cwd,
    env: { ...(options.env ?? process.env), ...(options.logFile ? { TOLLGATE_WATCHED_LOG: options.logFile } : {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let announcePid: (pid: number) => void = () => undefined;
  const pid = new Promise<number>((resolve, reject) => {
    announcePid = resolve;
    void exited.then((code) => reject(new Error(`${options.command} exited (${code}) before it started`)));
  });
  pid.catch(() => undefined);
  let partial = '';
  const forward = (data: Buffer) => {
    const lines = (partial + data.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(PID_MARK)) announcePid(Number(line.slice(PID_MARK.length)));
      else if (line.trim()) options.onLine?.(line);
    }
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  return {
    pid,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      child.stdin.end();
      const timeout = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
