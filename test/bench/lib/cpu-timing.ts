/**
 * In-process timing of a small synchronous piece of work (a translator fed a recorded stream, a request translation).
 * The work runs in batches after a warm-up; each batch is timed by the wall clock and by this process's CPU time.
 * The medians over batches are reported: on a shared machine other processes stretch wall time (and show up as
 * wall > CPU) far more than they stretch the CPU time of a single-threaded loop.
 */
export interface CpuTimingOptions {
  /** Runs before measuring, so V8 has optimised the code. */
  warmupRuns: number;
  batches: number;
  runsPerBatch: number;
}

export interface CpuTiming {
  /** Median over batches of wall time per run, µs. */
  wall_us: number;
  /** Median over batches of CPU time (user + system) per run, µs. */
  cpu_us: number;
  /** Smallest batch's CPU time per run, µs: the least disturbed estimate. */
  cpu_us_min: number;
  runs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** A sink the work's results go into, so the optimiser cannot drop the work as unused. */
let sink: unknown;

export function timePerRun(work: () => unknown, options: CpuTimingOptions): CpuTiming {
  for (let i = 0; i < options.warmupRuns; i++) sink = work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let batch = 0; batch < options.batches; batch++) {
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    for (let i = 0; i < options.runsPerBatch; i++) sink = work();
    wall.push(((performance.now() - wallBefore) * 1000) / options.runsPerBatch);
    const used = process.cpuUsage(cpuBefore);
    cpu.push((used.user + used.system) / options.runsPerBatch);
  }
  void sink;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    wall_us: round(median(wall)),
    cpu_us: round(median(cpu)),
    cpu_us_min: round(Math.min(...cpu)),
    runs: options.batches * options.runsPerBatch,
  };
}
