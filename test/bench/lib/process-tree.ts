import { readdirSync, readFileSync } from 'node:fs';
import { readCpuSeconds, readMemoryMb } from './processes.ts';

/**
 * A gateway is often several processes (LiteLLM's uvicorn workers under their parent, Envoy beside Tollgate): its
 * memory and CPU are those of whole process trees, read from /proc.
 */

/** The parent pid of every live process. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After "(comm) ": state, then ppid.
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

function childrenOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, parent] of parentPids()) {
    const siblings = children.get(parent);
    if (siblings) siblings.push(pid);
    else children.set(parent, [pid]);
  }
  return children;
}

/** The given processes and all their descendants (each pid once). */
export function processTrees(rootPids: readonly number[]): number[] {
  return treeOf(rootPids, childrenOf());
}

/** processTrees for each entry (one read of /proc for all). */
export function processTreesByName(rootsByName: Record<string, readonly number[]>): Record<string, number[]> {
  const children = childrenOf();
  return Object.fromEntries(Object.entries(rootsByName).map(([name, roots]) => [name, treeOf(roots, children)]));
}

function treeOf(rootPids: readonly number[], children: Map<number, number[]>): number[] {
  const seen = new Set<number>();
  const pending = [...rootPids];
  while (pending.length) {
    const pid = pending.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/** Summed VmRSS of the processes, in MiB (pages shared between them count once per process, as `ps` shows). */
export function rssOfMb(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readMemoryMb(pid)?.rss ?? 0), 0);
}

/** Summed user + system CPU seconds of the processes (those that ended meanwhile drop out). */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readCpuSeconds(pid) || 0), 0);
}

/**
 * Summed read and write system calls of the processes (/proc/<pid>/io syscr, syscw: sockets, pipes and files alike).
 * On this VM each one that wakes another process costs tens of µs, so their count per request is a cost figure that,
 * unlike CPU time, does not move with the machine's load.
 */
export function syscallsOf(pids: readonly number[]): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      reads += Number(/syscr:\s*(\d+)/.exec(io)?.[1] ?? 0);
      writes += Number(/syscw:\s*(\d+)/.exec(io)?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return { reads, writes };
}

/**
 * Samples the summed RSS of process trees every intervalMs; the tree is re-read every few samples, since workers
 * may be started lazily.
 */
export class TreeRssSampler {
  private timer: NodeJS.Timeout | null = null;
  private pids: number[] = [];
  private ticks = 0;
  peakMb = 0;
  private readonly roots: () => readonly number[];

  constructor(roots: () => readonly number[]) {
    this.roots = roots;
  }

  start(intervalMs = 250): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): number {
    if (this.ticks++ % 8 === 0) this.pids = processTrees(this.roots());
    const mb = rssOfMb(this.pids);
    this.peakMb = Math.max(this.peakMb, mb);
    return mb;
  }

  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.peakMb;
  }
}

/**
 * Wraps a started program whose children may outlive it (e.g. uvicorn workers when their parent is killed after its
 * stop timeout): stop() stops the program, then sends SIGKILL to whatever of its tree is still there.
 */
export function stoppingTree<T extends { pid: number; stop(): Promise<void> }>(started: T): T {
  const stop = started.stop.bind(started);
  return Object.assign(started, {
    async stop() {
      const tree = processTrees([started.pid]);
      await stop();
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  });
}

/** The `tollgate serve` process (src/cli/main.ts or the compiled main.js) among the process trees of these roots. */
export function tollgateServePid(roots: readonly number[]): number {
  for (const pid of processTrees(roots)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('main.') && cmdline.includes('serve')) return pid;
    } catch {
      // gone
    }
  }
  throw new Error('no Tollgate process found');
}
