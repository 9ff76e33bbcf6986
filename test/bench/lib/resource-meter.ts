import { cpuSecondsOf, processTrees, TreeRssSampler } from './process-tree.ts';
import { readCpuSeconds, startForeignCpuMeter } from './processes.ts';

/** What the system under test, the load generator and everything else on the machine used during one measured run. */
export interface RunResources {
  wallSeconds: number;
  /** CPU seconds of the measured process trees (the gateway). */
  cpuSeconds: number;
  /** The same in % of one core. */
  cpuPct: number;
  /** Peak summed RSS of the measured trees, MiB (sampled every 250 ms). */
  peakRssMb: number;
  /** CPU of the load generator, % of one core (this process, or the `generator` entry of the processes metered). */
  generatorCpuPct: number;
  /** CPU of processes outside the benchmark, % of one core. */
  foreignCpuPct: number;
  /** User + system CPU seconds of each named group of processes (e.g. tollgate, envoy, fake, generator), when asked. */
  cpuSecondsByProcess?: Record<string, number>;
}

/** Where the measured window of a run starts and ends, when it is not the whole run (e.g. after a warm-up). */
export interface MeterMarks {
  start(): void;
  end(): void;
}

export interface MeterOptions {
  /**
   * Named groups of pids (exact pids: expand trees yourself) whose CPU time is read from /proc/<pid>/stat at the
   * start and end of the window; called at both, so processes started meanwhile count from their start.
   */
  processes?: () => Record<string, number[]>;
  /** The work calls marks.start() and marks.end() itself; otherwise the window is the whole work. */
  marked?: boolean;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

function readGroups(groups: Record<string, number[]>): Record<string, Map<number, number>> {
  return Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, new Map(pids.map((pid) => [pid, readCpuSeconds(pid) || 0]))]));
}

/**
 * Runs `work` while metering the process trees under `roots` (none: only the generator and the rest are metered).
 * `ourPids` are all the benchmark's processes, to tell other users of this machine apart.
 */
export async function metered<T>(
  roots: () => number[],
  ourPids: () => number[],
  work: (marks: MeterMarks) => Promise<T>,
  options: MeterOptions = {},
): Promise<{ result: T; resources: RunResources }> {
  const sampler = new TreeRssSampler(roots).start(250);
  type Window = {
    pids: number[]; cpuBefore: number; foreign: { stop(): number }; selfBefore: NodeJS.CpuUsage; started: number;
    groups: Record<string, Map<number, number>>;
  };
  let window: Window | null = null;
  let resources: RunResources | null = null;
  const start = () => {
    if (window) return;
    const pids = processTrees(roots());
    window = {
      pids,
      cpuBefore: cpuSecondsOf(pids),
      groups: readGroups(options.processes?.() ?? {}),
      foreign: startForeignCpuMeter(ourPids),
      selfBefore: process.cpuUsage(),
      started: performance.now(),
    };
  };
  const end = () => {
    if (!window || resources) return;
    const { pids, cpuBefore, groups, foreign, selfBefore, started } = window;
    const wallSeconds = (performance.now() - started) / 1000;
    const self = process.cpuUsage(selfBefore);
    // Processes that started during the run (a worker respawned) count from their start.
    const cpuSeconds = cpuSecondsOf(pids) - cpuBefore + cpuSecondsOf(processTrees(roots()).filter((pid) => !pids.includes(pid)));
    const byProcess: Record<string, number> = {};
    for (const [name, now] of Object.entries(options.processes ? readGroups(options.processes()) : {})) {
      const before = groups[name] ?? new Map<number, number>();
      let used = 0;
      for (const [pid, seconds] of now) used += seconds - (before.get(pid) ?? 0);
      byProcess[name] = round4(Math.max(0, used));
    }
    const generatorSeconds = byProcess.generator ?? (self.user + self.system) / 1e6;
    resources = {
      wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      cpuPct: round1((cpuSeconds / wallSeconds) * 100),
      peakRssMb: 0,
      generatorCpuPct: round1((generatorSeconds / wallSeconds) * 100),
      foreignCpuPct: foreign.stop(),
      ...(options.processes ? { cpuSecondsByProcess: byProcess } : {}),
    };
  };
  if (!options.marked) start();
  let result: T;
  try {
    result = await work({ start, end });
  } finally {
    sampler.sample();
    sampler.stop();
  }
  start(); // a marked work that never started its window: an empty one
  end();
  const measured = resources as unknown as RunResources;
  measured.peakRssMb = round1(sampler.peakMb);
  return { result, resources: measured };
}

/**
 * Waits until a gateway has worked off any backlog (the CPU of the trees under roots below maxCpuPct of a core over
 * 0.5 s), at most timeoutMs; returns at once when there are no roots (direct).
 */
export async function waitUntilIdle(roots: () => number[], options: { maxCpuPct?: number; timeoutMs?: number } = {}): Promise<void> {
  if (!roots().length) return;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    const { resources } = await metered(roots, () => [], () => new Promise<void>((resolve) => setTimeout(resolve, 500)));
    if (resources.cpuPct < (options.maxCpuPct ?? 5)) return;
  }
}
