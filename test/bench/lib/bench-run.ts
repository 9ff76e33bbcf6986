import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ProcessGroup } from './processes.ts';

export interface BenchRun {
  /** Every process the benchmark starts, stopped together. */
  group: ProcessGroup;
  /** The run's temp dir (configs, logs), removed at the end unless kept. */
  dir: string;
  /** Stops the processes and removes (or keeps) the dir; safe to call twice. */
  cleanUp(): Promise<void>;
}

/**
 * What every benchmark run starts with: a process group, a temp dir, and a Ctrl-C that still stops every child and
 * removes the dir (a benchmark interrupted halfway must not leave Envoys and gateways running).
 */
export async function startBenchRun(options: { prefix: string; keepDir: boolean; write: (text: string) => void }): Promise<BenchRun> {
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(os.tmpdir(), options.prefix));
  let cleaning: Promise<void> | null = null;
  const cleanUp = () => (cleaning ??= (async () => {
    await group.stopAll();
    if (options.keepDir) options.write(`kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  })());
  const onSignal = (signal: NodeJS.Signals) => {
    options.write(`\n${signal}: stopping…\n`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { group, dir, cleanUp };
}
