import type { ClosedLoadResult } from './closed-loop.ts';
import type { RunResources } from './resource-meter.ts';
import type { MachineInfo } from './run-info.ts';

/**
 * results/scaling.json (test/bench/scaling.ts): how Tollgate's max throughput grows with its processes, and the
 * RESULTS.md section rendered from that file alone (lib/results-markdown.ts).
 */

/** The process groups whose CPU each run reads, in table order (tollgate: every Tollgate process summed). */
export const SCALING_GROUPS = ['tollgate', 'envoy', 'redis', 'fake', 'generator'] as const;
/** The gateway's own groups, summed into "gateway total". */
const GATEWAY_GROUPS = ['tollgate', 'envoy', 'redis'];
/** Prefix of the per-process groups metered besides the summed one: tollgate#1, tollgate#2, … in start order. */
export const TOLLGATE_PROCESS_GROUP = 'tollgate#';

/** One closed-loop run at one process count, as the results file keeps it. */
export interface ScalingRun {
  processes: number;
  rep: number;
  /** 2xx answers per second over the measured window. */
  rps: number;
  ok: number;
  errors: number;
  error_rate: number;
  latency_ms: { p50: number; p99: number };
  /** Seconds of the measured window (CPU figures divide by it for "cores busy"). */
  wall_s: number;
  /** User + system CPU seconds of each group over the window: tollgate (its processes summed), envoy, redis, fake, generator. */
  cpu_s: Record<string, number>;
  /** The same for each Tollgate process alone, in start order: how evenly Envoy spread the ext_proc streams. */
  tollgate_cpu_s_by_process: number[];
  /** Summed RSS of the Tollgate processes at the end of the run; peak RSS of the gateway's whole tree over it. */
  rss_mb: { tollgate: number; gateway_peak: number };
  /** CPU of processes outside the benchmark during the run, % of one core. */
  foreign_cpu_pct: number;
  error_detail?: { statuses: Record<string, number>; transport: Record<string, number>; samples: string[] };
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const r3 = (n: number) => Math.round(n * 1000) / 1000;
const finite = (n: number) => (Number.isFinite(n) ? n : null);

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A measured run in the results file's shape; per-process groups (tollgate#N) go to tollgate_cpu_s_by_process. */
export function scalingRun(input: {
  processes: number; rep: number; result: ClosedLoadResult; resources: RunResources; tollgateRssMb: number;
}): ScalingRun {
  const { result, resources } = input;
  const byGroup = resources.cpuSecondsByProcess ?? {};
  const cpu = Object.fromEntries(Object.entries(byGroup).filter(([name]) => !name.startsWith(TOLLGATE_PROCESS_GROUP)));
  const perProcess = Object.entries(byGroup).filter(([name]) => name.startsWith(TOLLGATE_PROCESS_GROUP))
    .sort(([a], [b]) => Number(a.slice(TOLLGATE_PROCESS_GROUP.length)) - Number(b.slice(TOLLGATE_PROCESS_GROUP.length)))
    .map(([, seconds]) => seconds);
  return {
    processes: input.processes,
    rep: input.rep,
    rps: result.rps,
    ok: result.ok,
    errors: result.errorCount,
    error_rate: result.errorRate,
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99 },
    wall_s: resources.wallSeconds,
    cpu_s: cpu,
    tollgate_cpu_s_by_process: perProcess,
    rss_mb: { tollgate: r1(input.tollgateRssMb), gateway_peak: resources.peakRssMb },
    foreign_cpu_pct: resources.foreignCpuPct,
    ...(result.errorCount ? { error_detail: { statuses: result.statuses, transport: result.errors, samples: result.errorSamples.slice(0, 2) } } : {}),
  };
}

export interface ScalingResultsInput {
  date: string;
  trial: boolean;
  machine: MachineInfo;
  versions: Record<string, string>;
  command: string;
  settings: {
    processes: number[]; connections: number; seconds: number; warmup_seconds: number; repetitions: number;
    max_foreign_cpu_pct: number;
  } & Record<string, unknown>;
  /** How each process count was set up (the contender's setup), by process count. */
  setups: Record<number, Record<string, unknown>>;
  /** Process counts that could not run, and why. */
  unavailable: Record<number, string>;
  runs: ScalingRun[];
}

/** The figures of one process count over its repetitions. */
function summaryOf(processes: number, runs: ScalingRun[], base: number | null) {
  const ok = runs.reduce((sum, run) => sum + run.ok, 0);
  const errors = runs.reduce((sum, run) => sum + run.errors, 0);
  const wall = runs.reduce((sum, run) => sum + run.wall_s, 0);
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.cpu_s)))]
    .sort((a, b) => rankOf(a) - rankOf(b) || a.localeCompare(b));
  const cpuOf = (name: string) => runs.reduce((sum, run) => sum + (run.cpu_s[name] ?? 0), 0);
  const cpuMs = Object.fromEntries(names.map((name) => [name, ok ? r3((cpuOf(name) * 1000) / ok) : null]));
  const gateway = names.filter((name) => GATEWAY_GROUPS.includes(name));
  const cores = Object.fromEntries(names.map((name) => [name, wall ? r2(cpuOf(name) / wall) : null]));
  const perProcess = Array.from({ length: Math.max(0, ...runs.map((run) => run.tollgate_cpu_s_by_process.length)) },
    (_, i) => runs.reduce((sum, run) => sum + (run.tollgate_cpu_s_by_process[i] ?? 0), 0));
  const perProcessTotal = perProcess.reduce((sum, seconds) => sum + seconds, 0);
  const rps = runs.map((run) => run.rps);
  const maxRps = median(rps);
  return {
    processes,
    repetitions: runs.length,
    max_rps: finite(r1(maxRps)),
    max_rps_reps: runs.map((run) => ({ rep: run.rep, rps: run.rps })),
    /** (highest − lowest) / median of the repetitions. */
    rps_spread: rps.length > 1 && maxRps > 0 ? r2((Math.max(...rps) - Math.min(...rps)) / maxRps) : null,
    speedup: base && maxRps ? r2(maxRps / base) : null,
    rps_per_process: finite(r1(maxRps / processes)),
    errors,
    error_rate: ok + errors ? Math.round((errors / (ok + errors)) * 10_000) / 10_000 : 0,
    latency_ms: { p50: finite(r3(median(runs.map((run) => run.latency_ms.p50)))), p99: finite(r3(median(runs.map((run) => run.latency_ms.p99)))) },
    cpu_ms_per_request: cpuMs,
    gateway_cpu_ms_per_request: ok && gateway.length ? r3(gateway.reduce((sum, name) => sum + cpuOf(name), 0) * 1000 / ok) : null,
    /** CPU seconds per wall second: how many cores each group kept busy on average. */
    cores_busy: { ...cores, all: wall ? r2(names.reduce((sum, name) => sum + cpuOf(name), 0) / wall) : null } as Record<string, number | null>,
    /** Each Tollgate process's share of the Tollgate CPU (1 / processes each when Envoy spreads the streams evenly). */
    tollgate_cpu_share_by_process: perProcessTotal ? perProcess.map((seconds) => r2(seconds / perProcessTotal)) : [],
    rss_mb: {
      tollgate: runs.length ? r1(Math.max(...runs.map((run) => run.rss_mb.tollgate))) : null,
      gateway_peak: runs.length ? r1(Math.max(...runs.map((run) => run.rss_mb.gateway_peak))) : null,
    },
  };
}

function rankOf(name: string): number {
  const at = (SCALING_GROUPS as readonly string[]).indexOf(name);
  return at === -1 ? SCALING_GROUPS.indexOf('fake') - 0.5 : at;
}

export type ScalingSummary = ReturnType<typeof summaryOf>;

export function buildScalingResults(input: ScalingResultsInput) {
  const counts = [...new Set([...input.settings.processes, ...input.runs.map((run) => run.processes)])].sort((a, b) => a - b);
  const measured = counts.filter((n) => input.runs.some((run) => run.processes === n));
  const baseRuns = input.runs.filter((run) => run.processes === 1);
  const base = baseRuns.length ? median(baseRuns.map((run) => run.rps)) : null;
  const summary = measured.map((n) => summaryOf(n, input.runs.filter((run) => run.processes === n), base));
  const results = {
    date: input.date,
    trial: input.trial,
    machine: input.machine,
    versions: input.versions,
    command: input.command,
    settings: input.settings,
    setups: input.setups,
    unavailable: input.unavailable,
    summary,
    notes: [] as string[],
    runs: input.runs,
  };
  results.notes = scalingNotes(results);
  return results;
}

export type ScalingResults = ReturnType<typeof buildScalingResults>;

/** What a reader must know to trust the figure, found in the figures themselves. */
function scalingNotes(results: Omit<ScalingResults, 'notes'> & { notes?: string[] }): string[] {
  const notes: string[] = [];
  const cores = results.machine.cores;
  for (const [n, why] of Object.entries(results.unavailable)) notes.push(`${n} process${n === '1' ? '' : 'es'} could not run: ${why.split('\n')[0]}`);
  if (!results.summary.some((row) => row.processes === 1)) notes.push('one process did not run: no "× 1 process" figures');
  for (const row of results.summary) {
    const label = `${row.processes} process${row.processes === 1 ? '' : 'es'}`;
    if (row.errors) {
      const detail = results.runs.find((run) => run.processes === row.processes && run.error_detail)?.error_detail;
      notes.push(`${label}: ${row.errors} errors (${(row.error_rate * 100).toFixed(2)} %)${detail ? `, e.g. ${describe(detail)}` : ''}`);
    }
    const all = row.cores_busy.all ?? null;
    if (all !== null && cores && all >= cores * 0.9) {
      notes.push(`${label}: the benchmark's processes kept ${all.toFixed(2)} of the machine's ${cores} cores busy: throughput was capped by the machine, ` +
        'and Tollgate, Envoy, Redis, the fake provider and the generator took cores from each other (see "cores busy")');
    }
    const tollgate = row.cores_busy.tollgate ?? null;
    if (tollgate !== null && tollgate / row.processes >= 0.85) {
      notes.push(`${label}: ${row.processes === 1 ? 'the Tollgate process' : 'each Tollgate process'} kept ${(tollgate / row.processes).toFixed(2)} of a core busy: ` +
        'Tollgate itself was the bottleneck (its work runs on one JavaScript thread per process)');
    }
    const shares = row.tollgate_cpu_share_by_process;
    if (shares.length > 1 && Math.min(...shares) < 0.75 / shares.length) {
      notes.push(`${label}: the Tollgate processes did not share the work evenly (CPU shares ${shares.join(' / ')}): Envoy's ext_proc streams went mostly to some of them`);
    }
    const generator = row.cores_busy.generator;
    if (generator !== null && generator !== undefined && generator > 0.6) {
      notes.push(`${label}: the load generator itself kept ${generator.toFixed(2)} of a core busy, on the same cores as the gateway`);
    }
    if (row.rps_spread !== null && row.rps_spread > 0.1) {
      notes.push(`${label}: the repetitions differ by ${Math.round(row.rps_spread * 100)} % of their median (${row.max_rps_reps.map((rep) => Math.round(rep.rps)).join(', ')} RPS): ` +
        'differences between process counts smaller than that are noise');
    }
  }
  const disturbed = results.runs.filter((run) => run.foreign_cpu_pct > results.settings.max_foreign_cpu_pct);
  if (disturbed.length) {
    notes.push(`${disturbed.length} run${disturbed.length === 1 ? '' : 's'} shared the machine with other processes (over ${results.settings.max_foreign_cpu_pct} % of a core: ` +
      `${disturbed.map((run) => `${run.processes} processes #${run.rep} ${run.foreign_cpu_pct} %`).join(', ')})`);
  }
  return notes;
}

function describe(detail: NonNullable<ScalingRun['error_detail']>): string {
  const parts = [
    ...Object.entries(detail.statuses).map(([status, count]) => `${count} × HTTP ${status}`),
    ...Object.entries(detail.transport).map(([error, count]) => `${count} × ${error}`),
  ];
  return parts.slice(0, 3).join(', ') || 'no detail';
}

const cell = (value: number | null | undefined, digits = 2) => (value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const BAR_WIDTH = 40;

/** The RESULTS.md section: the throughput figure (bars), then CPU per request and cores by process group. */
export function scalingMarkdown(results: ScalingResults): string {
  const settings = results.settings;
  const lines: string[] = [];
  lines.push(`How max throughput grows with Tollgate processes: every stage on (as tollgate-full in the peer benchmark: Redis store, ` +
    `policy, quota, cache, ledger), one Envoy (--concurrency 2) whose \`extproc.endpoints\` lists each process; closed loop with ` +
    `${settings.connections} connections, ${settings.seconds} s after ${settings.warmup_seconds} s of warm-up, ` +
    `${settings.repetitions === 1 ? 'one repetition' : `${settings.repetitions} repetitions alternating the order (medians)`}; ${String((settings as { generator?: string }).generator ?? 'Go generator')}; ${results.machine.cores} cores.`);
  lines.push('');
  const top = Math.max(0, ...results.summary.map((row) => row.max_rps ?? 0));
  const labelWidth = Math.max(...results.summary.map((row) => label(row.processes).length), 0);
  if (results.summary.length && top > 0) {
    lines.push('```');
    for (const row of results.summary) {
      const length = ((row.max_rps ?? 0) / top) * BAR_WIDTH;
      const bar = '█'.repeat(Math.floor(length)) + (length % 1 >= 0.5 ? '▌' : '');
      lines.push(`${label(row.processes).padEnd(labelWidth)}  ${bar.padEnd(BAR_WIDTH + 1)} ${cell(row.max_rps, 0).padStart(6)} RPS` +
        `${row.speedup === null || row.processes === 1 ? '' : `  ×${cell(row.speedup)}`}`);
    }
    lines.push('```');
    lines.push('');
  }
  lines.push('| Tollgate processes | max RPS (median) | repetitions | × 1 process | errors | p50 / p99 ms | Tollgate CPU split | Tollgate RSS MiB |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of results.summary) {
    lines.push(`| ${row.processes} | ${cell(row.max_rps, 0)} | ${row.max_rps_reps.map((rep) => Math.round(rep.rps)).join(', ')} | ` +
      `${row.speedup === null ? '—' : `×${cell(row.speedup)}`} | ${row.errors} (${(row.error_rate * 100).toFixed(1)} %) | ` +
      `${cell(row.latency_ms.p50)} / ${cell(row.latency_ms.p99)} | ${row.tollgate_cpu_share_by_process.map((share) => cell(share)).join(' / ') || '—'} | ${cell(row.rss_mb.tollgate, 0)} |`);
  }
  lines.push('');
  lines.push('CPU ms per request by process group (user + system time over the measured runs / 2xx answers; tollgate: its processes summed) and cores busy (CPU s per wall s):');
  lines.push('');
  const groups = [...new Set(results.summary.flatMap((row) => Object.keys(row.cpu_ms_per_request)))].sort((a, b) => rankOf(a) - rankOf(b) || a.localeCompare(b));
  const gateway = groups.filter((name) => GATEWAY_GROUPS.includes(name));
  const others = groups.filter((name) => !GATEWAY_GROUPS.includes(name));
  lines.push(`| Tollgate processes | ${gateway.join(' | ')} | gateway total | ${others.join(' | ')} | cores busy: ${groups.join(' / ')} / all |`);
  lines.push(`| --- | ${gateway.map(() => '---').join(' | ')} | --- | ${others.map(() => '---').join(' | ')} | --- |`);
  for (const row of results.summary) {
    const cores = row.cores_busy;
    lines.push(`| ${row.processes} | ${gateway.map((name) => cell(row.cpu_ms_per_request[name], 3)).join(' | ')} | ${cell(row.gateway_cpu_ms_per_request, 3)} | ` +
      `${others.map((name) => cell(row.cpu_ms_per_request[name], 3)).join(' | ')} | ${[...groups, 'all'].map((name) => cell(cores[name])).join(' / ')} |`);
  }
  lines.push('');
  lines.push('How to read it:');
  lines.push('');
  lines.push(`- Everything runs on this machine's ${results.machine.cores} cores: the Tollgate processes, Envoy's two workers, Redis, the fake provider ` +
    'and the load generator. Once they keep every core busy ("all" near the core count), another Tollgate process can only take CPU from the others: ' +
    'the figure then shows this machine\'s ceiling, not how Tollgate scales on cores of its own.');
  lines.push('- "× 1 process" divides by the median of one process in the same run. Tollgate CPU split: each process\'s share of the Tollgate CPU, ' +
    '1 / processes each when Envoy spreads the ext_proc streams evenly.');
  lines.push('- CPU per request at saturation is lower than at fixed rates (results/peers.json): busy processes do not pay the cost of waking up. ' +
    'Compare the rows with each other, not with the peer table\'s fixed-rate figures.');
  if (results.notes.length) {
    lines.push('');
    lines.push('Found in this run\'s figures:');
    lines.push('');
    for (const note of results.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n');
}

function label(processes: number): string {
  return `${processes} process${processes === 1 ? '' : 'es'}`;
}
