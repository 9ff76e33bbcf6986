import { cpuSecondsOf, processTrees, TreeRssSampler } from './process-tree.ts';
import { startForeignCpuMeter } from './processes.ts';

/** What the system under test, the load generator and everything else on the machine used during one measured run. */
export interface RunResources {
  wallSeconds: number;
  /** CPU seconds of the measured process trees (the gateway). */
  cpuSeconds: number;
  /** The same in % of one core. */
  cpuPct: number;
  /** Peak summed RSS of the measured trees, MiB (sampled every 250 ms). */
  peakRssMb: number;
  /** CPU of this process (the load generator), % of one core. */
  generatorCpuPct: number;
  /** CPU of processes outside the benchmark, % of one core. */
  foreignCpuPct: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Runs `work` while metering the process trees under `roots` (none: only the generator and the rest are metered).
 * `ourPids` are all the benchmark's processes, to tell other users of this machine apart.
 */
export async function metered<T>(roots: () => number[], ourPids: () => number[], work: () => Promise<T>): Promise<{ result: T; resources: RunResources }> {
  const pids = processTrees(roots());
  const cpuBefore = cpuSecondsOf(pids);
  const sampler = new TreeRssSampler(roots).start(250);
  const foreign = startForeignCpuMeter(ourPids);
  const selfBefore = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const wallSeconds = (performance.now() - started) / 1000;
  const self = process.cpuUsage(selfBefore);
  sampler.sample();
  const peakRssMb = sampler.stop();
  // Processes that started during the run (a worker respawned) count from their start.
  const cpuSeconds = cpuSecondsOf(pids) - cpuBefore + cpuSecondsOf(processTrees(roots()).filter((pid) => !pids.includes(pid)));
  return {
    result,
    resources: {
      wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      cpuPct: round1((cpuSeconds / wallSeconds) * 100),
      peakRssMb: round1(peakRssMb),
      generatorCpuPct: round1(((self.user + self.system) / 1e6 / wallSeconds) * 100),
      foreignCpuPct: foreign.stop(),
    },
  };
}
