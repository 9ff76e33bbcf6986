import type { ClosedLoadResult } from '../lib/closed-loop.ts';
import type { FixedLoadResult } from '../lib/loadgen.ts';
import type { Percentiles } from '../lib/percentiles.ts';
import type { RunResources } from '../lib/resource-meter.ts';
import type { StreamTimingResult } from '../lib/stream-timing.ts';
import type { Contender, ContenderName, ContenderSpec } from './contender.ts';

/**
 * Turns the measured runs into results/peers.json (one entry per contender, figures relative to direct, ratios to
 * bare Envoy and to Tollgate) and renders its table. The renderer reads only the JSON, so RESULTS.md can be rebuilt
 * from the file alone.
 */

export interface FixedRun { contender: ContenderName; rps: number; rep: number; result: FixedLoadResult; resources: RunResources; attempts: number }
export interface MaxRun { contender: ContenderName; result: ClosedLoadResult; resources: RunResources }
export interface StreamRun { contender: ContenderName; result: StreamTimingResult; resources: RunResources }

/** The contender the issue's target is about, and the one ratios "to Tollgate" divide by. */
export const TOLLGATE_REFERENCE: ContenderName = 'tollgate-full';
const PEERS: ContenderName[] = ['litellm', 'litellm-auth', 'portkey'];
/** Below this, an added latency is noise: a ratio to it would mean nothing. */
const MIN_DIVISOR_MS = 0.05;

const r2 = (n: number) => (Number.isFinite(n) ? Math.round(n * 100) / 100 : null);
const r3 = (n: number) => (Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null);

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianPercentiles(runs: FixedRun[]): Percentiles {
  return {
    p50: median(runs.map((run) => run.result.latency.p50)),
    p90: median(runs.map((run) => run.result.latency.p90)),
    p99: median(runs.map((run) => run.result.latency.p99)),
  };
}

/** The order of the processes in cpu_ms_per_request and its table; any other name follows. */
const PROCESS_ORDER = ['tollgate', 'envoy', 'redis', 'portkey', 'litellm', 'fake', 'generator'];
/** Processes that are not the gateway: the provider it calls and the load generator. */
const NOT_GATEWAY = new Set(['fake', 'generator']);

/**
 * CPU ms per 2xx answer of each process over some runs (their CPU summed, divided by their answers summed); null
 * when the runs did not meter processes.
 */
function cpuMsPerRequest(runs: { result: { ok: number }; resources: RunResources }[]): Record<string, number | null> | null {
  const metered = runs.filter((run) => run.resources.cpuSecondsByProcess);
  const ok = metered.reduce((sum, run) => sum + run.result.ok, 0);
  if (!metered.length) return null;
  const names = [...new Set(metered.flatMap((run) => Object.keys(run.resources.cpuSecondsByProcess ?? {})))]
    .sort((a, b) => rankOf(a) - rankOf(b) || a.localeCompare(b));
  return Object.fromEntries(names.map((name) => {
    const seconds = metered.reduce((sum, run) => sum + (run.resources.cpuSecondsByProcess?.[name] ?? 0), 0);
    return [name, ok ? r3((seconds * 1000) / ok) : null];
  }));
}

function rankOf(name: string): number {
  const at = PROCESS_ORDER.indexOf(name);
  return at === -1 ? PROCESS_ORDER.indexOf('fake') - 0.5 : at;
}

function ratioOf(value: number | null, divisor: number | null, minDivisor = 0): number | null {
  if (value === null || divisor === null || !Number.isFinite(value) || !Number.isFinite(divisor) || divisor <= minDivisor) return null;
  return r2(value / divisor);
}

export interface PeersResultsInput {
  date: string;
  trial: boolean;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  command: string;
  settings: Record<string, unknown>;
  specs: ContenderSpec[];
  running: Contender[];
  unavailable: Record<string, string>;
  idleRssMb: Record<string, number | null>;
  fixed: FixedRun[];
  max: MaxRun[];
  streams: StreamRun[];
  rates: number[];
}

/** One contender's figures; added latencies are over direct's in the same run. */
function contenderEntry(spec: ContenderSpec, input: PeersResultsInput) {
  const topRate = Math.max(...input.rates);
  const fixedOf = (name: ContenderName, rps: number) => input.fixed.filter((run) => run.contender === name && run.rps === rps);
  const directStream = input.streams.find((run) => run.contender === 'direct')?.result;
  const contender = input.running.find((c) => c.name === spec.name);
  if (!contender) {
    return { name: spec.name, description: spec.description, status: 'could_not_run' as const, reason: input.unavailable[spec.name] ?? 'not selected' };
  }
  const gateway = contender.roots().length > 0;
  const byRate = input.rates.map((rps) => {
    const runs = fixedOf(spec.name, rps);
    const latency = medianPercentiles(runs);
    const direct = medianPercentiles(fixedOf('direct', rps));
    const ok = runs.reduce((sum, run) => sum + run.result.ok, 0);
    const cpu = runs.reduce((sum, run) => sum + run.resources.cpuSeconds, 0);
    const fakeOk = fixedOf('direct', rps).reduce((sum, run) => sum + run.result.ok, 0);
    return {
      rps,
      latency_ms: { p50: r3(latency.p50), p90: r3(latency.p90), p99: r3(latency.p99) },
      added_ms: { p50: r3(latency.p50 - direct.p50), p90: r3(latency.p90 - direct.p90), p99: r3(latency.p99 - direct.p99) },
      errors: runs.reduce((sum, run) => sum + run.result.errorCount, 0),
      scheduled: runs.reduce((sum, run) => sum + run.result.scheduled, 0),
      achieved_rps: r2(median(runs.map((run) => run.result.achievedRps))),
      cpu_s_per_10k: gateway && ok ? r3((cpu / ok) * 10_000) : null,
      ...(spec.name === 'direct' && fakeOk ? { fake_cpu_s_per_10k: r3((cpu / fakeOk) * 10_000) } : {}),
      cpu_ms_per_request: cpuMsPerRequest(runs),
      reps: runs.map((run) => ({
        rep: run.rep,
        p50: run.result.latency.p50, p90: run.result.latency.p90, p99: run.result.latency.p99, max: run.result.latency.max,
        errors: run.result.errorCount,
        error_detail: run.result.errorCount
          ? { statuses: run.result.statuses, transport: run.result.errors, unanswered: run.result.unanswered, samples: run.result.errorSamples.slice(0, 2) }
          : undefined,
        achieved_rps: run.result.achievedRps,
        send_lag_p50_ms: run.result.sendLag.p50,
        send_lag_p99_ms: run.result.sendLag.p99,
        ...(run.result.service ? { service_p50_ms: run.result.service.p50, service_p99_ms: run.result.service.p99 } : {}),
        ...(run.result.connectionsOpened !== undefined ? { connections_opened: run.result.connectionsOpened, max_inflight: run.result.maxInflight } : {}),
        gateway_cpu_pct: run.resources.cpuPct,
        generator_cpu_pct: run.resources.generatorCpuPct,
        foreign_cpu_pct: run.resources.foreignCpuPct,
        cpu_ms_per_request: cpuMsPerRequest([run]),
        attempts: run.attempts,
      })),
    };
  });
  const top = byRate.find((rate) => rate.rps === topRate);
  const max = input.max.find((run) => run.contender === spec.name);
  const stream = input.streams.find((run) => run.contender === spec.name)?.result;
  const loadRuns = [...input.fixed, ...input.max, ...input.streams].filter((run) => run.contender === spec.name);
  return {
    name: spec.name,
    label: contender.label,
    description: spec.description,
    status: 'ok' as const,
    version: contender.version,
    rps: topRate,
    p50_added_ms: top?.added_ms.p50 ?? null,
    p90_added_ms: top?.added_ms.p90 ?? null,
    p99_added_ms: top?.added_ms.p99 ?? null,
    errors: top?.errors ?? null,
    max_rps: max ? max.result.rps : null,
    max_error_rate: max ? max.result.errorRate : null,
    ttft_added_ms: stream && directStream ? r3(stream.ttft.p50 - directStream.ttft.p50) : null,
    inter_chunk_added_ms: stream && directStream ? r3(stream.interChunk.p50 - directStream.interChunk.p50) : null,
    rss_idle_mb: input.idleRssMb[spec.name] ?? null,
    rss_load_mb: gateway && loadRuns.length ? r2(Math.max(...loadRuns.map((run) => run.resources.peakRssMb))) : null,
    cpu_s_per_10k: top?.cpu_s_per_10k ?? null,
    cpu_ms_per_request: top?.cpu_ms_per_request ?? null,
    by_rate: byRate,
    max_throughput: max
      ? {
          connections: max.result.connections, seconds: max.result.durationMs / 1000, rps: max.result.rps, ok: max.result.ok,
          errors: max.result.errorCount, error_rate: max.result.errorRate,
          latency_ms: { p50: max.result.latency.p50, p99: max.result.latency.p99 },
          error_detail: max.result.errorCount ? { statuses: max.result.statuses, transport: max.result.errors, samples: max.result.errorSamples.slice(0, 2) } : undefined,
          gateway_cpu_pct: max.resources.cpuPct, generator_cpu_pct: max.resources.generatorCpuPct, foreign_cpu_pct: max.resources.foreignCpuPct,
          cpu_ms_per_request: cpuMsPerRequest([max]),
        }
      : null,
    streaming: stream
      ? {
          streams: stream.scheduled, ok: stream.ok, errors: stream.errorCount,
          ttft_ms: { p50: stream.ttft.p50, p90: stream.ttft.p90, p99: stream.ttft.p99 },
          inter_chunk_ms: { p50: stream.interChunk.p50, mean: stream.interChunk.mean, p99: stream.interChunk.p99, max: stream.interChunk.max },
          total_ms: { p50: stream.total.p50, p99: stream.total.p99 },
          content_events_per_stream: stream.contentEvents,
          error_detail: stream.errorCount ? { statuses: stream.statuses, transport: stream.errors, samples: stream.errorSamples.slice(0, 2) } : undefined,
        }
      : null,
    setup: contender.setup,
  };
}

type Entry = ReturnType<typeof contenderEntry>;
type OkEntry = Extract<Entry, { status: 'ok' }>;

export function buildPeersResults(input: PeersResultsInput) {
  const topRate = Math.max(...input.rates);
  const entries = input.specs.map((spec) => contenderEntry(spec, input));
  const ok = (name: ContenderName) => entries.find((entry): entry is OkEntry => entry.name === name && entry.status === 'ok');
  const envoy = ok('envoy');
  const tollgate = ok(TOLLGATE_REFERENCE);
  // Direct adds nothing by definition: its latency ratios would only say 0.
  const floor = (entry: OkEntry, value: number | null) => (entry.name === 'direct' ? null : value);
  const ratios = (entry: OkEntry, to: OkEntry | undefined) => ({
    p50_added: ratioOf(floor(entry, entry.p50_added_ms), to?.p50_added_ms ?? null, MIN_DIVISOR_MS),
    p99_added: ratioOf(floor(entry, entry.p99_added_ms), to?.p99_added_ms ?? null, MIN_DIVISOR_MS),
    max_rps: ratioOf(entry.max_rps, to?.max_rps ?? null),
    cpu_s_per_10k: ratioOf(entry.cpu_s_per_10k, to?.cpu_s_per_10k ?? null),
  });
  const contenders = entries.map((entry) => (entry.status === 'ok'
    ? { ...entry, ratio_to_envoy: ratios(entry, envoy), ratio_to_tollgate: ratios(entry, tollgate) }
    : entry));

  const target = targetCheck(tollgate, PEERS.map(ok).filter((entry): entry is OkEntry => entry !== undefined), topRate);
  return {
    date: input.date,
    trial: input.trial,
    machine: input.machine,
    versions: input.versions,
    command: input.command,
    settings: input.settings,
    reference: { floor: 'direct', transport: 'envoy', tollgate: TOLLGATE_REFERENCE },
    cpu_ms_per_request: {
      rps: topRate,
      what: 'CPU ms (user + system, /proc/<pid>/stat) per 2xx answer of each process at this rate, fixed-rate runs summed over the repetitions',
      contenders: Object.fromEntries(entries.flatMap((entry) => (entry.status === 'ok' && entry.cpu_ms_per_request ? [[entry.name, entry.cpu_ms_per_request]] : []))),
    },
    contenders,
    target,
    notes: oddities(entries, input),
  };
}

/** The issue's target: at 500 RPS Tollgate (every stage) adds less p50 and p99 than each peer, and sustains more. */
function targetCheck(
  tollgate: { p50_added_ms: number | null; p99_added_ms: number | null; max_rps: number | null } | undefined,
  peers: { name: string; p50_added_ms: number | null; p99_added_ms: number | null; max_rps: number | null }[],
  topRate: number,
) {
  const rps = 500;
  if (!tollgate || topRate !== rps || !peers.length) {
    return { rps, tollgate: TOLLGATE_REFERENCE, met: null, why: !tollgate ? 'Tollgate (every stage) did not run' : topRate !== rps ? `the highest rate run was ${topRate} RPS` : 'no peer ran', checks: [] };
  }
  const lower = (a: number | null, b: number | null) => a !== null && b !== null && a < b;
  const checks = peers.map((peer) => ({
    peer: peer.name,
    p50_added_lower: lower(tollgate.p50_added_ms, peer.p50_added_ms),
    p99_added_lower: lower(tollgate.p99_added_ms, peer.p99_added_ms),
    max_rps_higher: lower(peer.max_rps, tollgate.max_rps),
  }));
  return { rps, tollgate: TOLLGATE_REFERENCE, met: checks.every((c) => c.p50_added_lower && c.p99_added_lower && c.max_rps_higher), checks };
}

/** Things a reader must know to trust the table, found in the figures themselves. */
function oddities(contenders: Entry[], input: PeersResultsInput): string[] {
  const notes: string[] = [];
  for (const entry of contenders) {
    if (entry.status !== 'ok') {
      notes.push(`${entry.name} could not run: ${entry.reason.split('\n')[0]}`);
      continue;
    }
    for (const rate of entry.by_rate) {
      if (rate.errors) {
        const first = rate.reps.find((rep) => rep.error_detail)?.error_detail;
        notes.push(`${entry.name}: ${rate.errors} of ${rate.scheduled} requests failed at ${rate.rps} RPS (${describeErrors(first)}); its latency figures cover the answered requests only`);
      }
      if (rate.achieved_rps !== null && rate.achieved_rps < rate.rps * 0.95) {
        notes.push(`${entry.name} completed only ${rate.achieved_rps} RPS of the ${rate.rps} RPS offered: it was saturated, so its latency is mostly queueing`);
      }
    }
    if (entry.max_throughput?.errors) {
      notes.push(`${entry.name}: ${entry.max_throughput.errors} errors in the max-throughput run (${describeErrors(entry.max_throughput.error_detail)})`);
    }
    if (entry.max_throughput && entry.max_throughput.generator_cpu_pct > 60) {
      notes.push(`${entry.name}: the load generator itself used ${entry.max_throughput.generator_cpu_pct}% of a core during the max-throughput run, on the same 2 cores as the gateway: the figure is a floor, not the gateway's ceiling`);
    }
    const workers = Number((entry.setup as { workers?: unknown }).workers ?? 1);
    if (entry.max_throughput && workers > 1 && entry.max_throughput.gateway_cpu_pct < 130) {
      notes.push(`${entry.name}: at max throughput its ${workers} workers used only ${entry.max_throughput.gateway_cpu_pct}% of a core in total: ` +
        'the load did not spread over them (keep-alive connections stay with the worker that accepted them)');
    }
    const events = entry.streaming?.content_events_per_stream;
    if (events && (events.min !== events.max || events.median !== input.settings.stream_content_chunks)) {
      notes.push(`${entry.name}: clients received ${events.min}–${events.max} content events per stream (median ${events.median}) where the provider sent ${String(input.settings.stream_content_chunks)}: the gateway re-chunks or merges SSE events`);
    }
    if (entry.streaming?.errors) notes.push(`${entry.name}: ${entry.streaming.errors} of ${entry.streaming.streams} streams failed`);
    const disturbed = entry.by_rate.flatMap((rate) => rate.reps).filter((rep) => rep.foreign_cpu_pct > Number(input.settings.max_foreign_cpu_pct));
    if (disturbed.length) {
      notes.push(`${entry.name}: ${disturbed.length} fixed-rate run(s) shared the machine with other processes (up to ${Math.max(...disturbed.map((rep) => rep.foreign_cpu_pct))}% of a core)`);
    }
  }
  return notes;
}

function describeErrors(detail: { statuses?: Record<string, number>; transport?: Record<string, number>; samples?: string[] } | undefined): string {
  if (!detail) return 'unanswered';
  const parts = [
    ...Object.entries(detail.statuses ?? {}).map(([status, n]) => `${n}× HTTP ${status}`),
    ...Object.entries(detail.transport ?? {}).map(([message, n]) => `${n}× ${message}`),
  ];
  return parts.join(', ') || 'unanswered';
}

// ───────────────────────────────────────────────────────────────── rendering

export type PeersResults = ReturnType<typeof buildPeersResults>;

const cell = (value: number | null | undefined, digits = 2) => (value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const times = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `×${value.toFixed(2)}`);

/** The one table (a line per contender) and the per-rate detail, as Markdown. */
export function peersMarkdown(results: PeersResults): string {
  const rates = [...new Set(results.contenders.flatMap((entry) => (entry.status === 'ok' ? entry.by_rate.map((rate) => rate.rps) : [])))];
  const topRate = Math.max(...rates);
  const lines: string[] = [];
  lines.push(`| contender | version | added p50 / p90 / p99 ms @ ${topRate} RPS | errors | ×Envoy p50 / p99 | ×Tollgate p50 / p99 | max RPS @ 50 conn (errors) | ×Envoy / ×Tollgate max RPS | TTFT added ms | inter-chunk added ms | RSS idle / load MiB | CPU s / 10k req |`);
  lines.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const entry of results.contenders) {
    if (entry.status !== 'ok') {
      lines.push(`| ${entry.name} | — | could not run: ${entry.reason.split('\n')[0]?.slice(0, 120)} | | | | | | | | | |`);
      continue;
    }
    lines.push(`| **${entry.label}** (${entry.name}) | ${entry.version} | ${cell(entry.p50_added_ms)} / ${cell(entry.p90_added_ms)} / ${cell(entry.p99_added_ms)} | ${entry.errors ?? '—'} | ` +
      `${times(entry.ratio_to_envoy.p50_added)} / ${times(entry.ratio_to_envoy.p99_added)} | ${times(entry.ratio_to_tollgate.p50_added)} / ${times(entry.ratio_to_tollgate.p99_added)} | ` +
      `${cell(entry.max_rps, 0)} (${entry.max_error_rate === null ? '—' : `${(entry.max_error_rate * 100).toFixed(1)} %`}) | ${times(entry.ratio_to_envoy.max_rps)} / ${times(entry.ratio_to_tollgate.max_rps)} | ` +
      `${cell(entry.ttft_added_ms)} | ${cell(entry.inter_chunk_added_ms)} | ${cell(entry.rss_idle_mb, 0)} / ${cell(entry.rss_load_mb, 0)} | ${cell(entry.cpu_s_per_10k)} |`);
  }
  lines.push('');
  lines.push('Added latency at every rate (median of the repetitions; ms over direct; errors summed):');
  lines.push('');
  lines.push(`| contender | ${rates.map((rps) => `${rps} RPS p50 / p90 / p99`).join(' | ')} | ${rates.map((rps) => `errors @ ${rps}`).join(' | ')} |`);
  lines.push(`| --- | ${rates.map(() => '---').join(' | ')} | ${rates.map(() => '---').join(' | ')} |`);
  for (const entry of results.contenders) {
    if (entry.status !== 'ok') continue;
    const at = (rps: number) => entry.by_rate.find((rate) => rate.rps === rps);
    lines.push(`| ${entry.name} | ${rates.map((rps) => { const a = at(rps)?.added_ms; return a ? `${cell(a.p50)} / ${cell(a.p90)} / ${cell(a.p99)}` : '—'; }).join(' | ')} | ` +
      `${rates.map((rps) => String(at(rps)?.errors ?? '—')).join(' | ')} |`);
  }
  lines.push(...cpuTable(results));
  const direct = results.contenders.find((entry) => entry.name === 'direct');
  if (direct?.status === 'ok') {
    const floor = direct.by_rate.map((rate) => `${rate.rps} RPS ${cell(rate.latency_ms.p50)} / ${cell(rate.latency_ms.p90)} / ${cell(rate.latency_ms.p99)} ms`).join(', ');
    lines.push('');
    lines.push(`The floor (direct → fake, p50 / p90 / p99): ${floor}; streaming TTFT p50 ${cell(direct.streaming?.ttft_ms.p50)} ms, inter-chunk p50 ${cell(direct.streaming?.inter_chunk_ms.p50)} ms.`);
  }
  const target = results.target;
  lines.push('');
  if (target.met === null) {
    lines.push(`Target (at ${target.rps} RPS, Tollgate with every stage adds less p50 and p99 than each peer and sustains a higher max throughput): not evaluated, ${'why' in target ? target.why : ''}.`);
  } else {
    lines.push(`Target (at ${target.rps} RPS, Tollgate with every stage adds less p50 and p99 than each peer and sustains a higher max throughput): **${target.met ? 'MET' : 'MISSED'}**` +
      ` — ${target.checks.map((c) => `vs ${c.peer}: p50 ${c.p50_added_lower ? 'lower' : 'NOT lower'}, p99 ${c.p99_added_lower ? 'lower' : 'NOT lower'}, max RPS ${c.max_rps_higher ? 'higher' : 'NOT higher'}`).join('; ')}.`);
  }
  const tollgate = results.contenders.find((entry) => entry.name === TOLLGATE_REFERENCE);
  if (tollgate?.status === 'ok') {
    const setup = tollgate.setup as { optional_stages_on?: string[]; optional_stages_absent?: string[]; optional_stages_rejected?: { stage: string }[]; stage_settings?: Record<string, string> };
    lines.push('');
    lines.push(`Tollgate "every stage" ran with: ${(setup.optional_stages_on ?? []).join(', ') || 'no optional stage'}` +
      `${setup.optional_stages_absent?.length ? `; not in this build: ${setup.optional_stages_absent.join(', ')}` : ''}` +
      `${setup.optional_stages_rejected?.length ? `; REJECTED by the config schema (benchmark settings out of date): ${setup.optional_stages_rejected.map((r) => r.stage).join(', ')}` : ''}.`);
    for (const [stage, settings] of Object.entries(setup.stage_settings ?? {})) lines.push(`- ${stage}: ${settings}`);
  }
  const profile = (results as { profile?: { rps: number; seconds: number; file: string; summary: string } | null }).profile;
  if (profile) {
    lines.push('');
    lines.push(`Where Tollgate's time goes (every stage, ${profile.rps} RPS for ${profile.seconds} s in a separate profiled run; ` +
      `V8 CPU profile of the Tollgate process, \`${profile.file}\`, opens as a flame graph in Chrome DevTools or speedscope):`);
    lines.push('');
    lines.push('```');
    lines.push(profile.summary);
    lines.push('```');
  }
  lines.push('');
  lines.push('How to read it:');
  lines.push('');
  for (const line of howToRead(results)) lines.push(`- ${line}`);
  if (results.notes.length) {
    lines.push('');
    lines.push('Found in this run\'s figures:');
    lines.push('');
    for (const note of results.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n');
}

/** "CPU ms per request by process" at the highest rate: one line per contender, one column per process. */
function cpuTable(results: PeersResults): string[] {
  const summary = (results as { cpu_ms_per_request?: { rps: number; contenders: Record<string, Record<string, number | null>> } }).cpu_ms_per_request;
  const byContender = Object.entries(summary?.contenders ?? {});
  if (!summary || !byContender.length) return [];
  const names = [...new Set(byContender.flatMap(([, processes]) => Object.keys(processes)))].sort((a, b) => rankOf(a) - rankOf(b) || a.localeCompare(b));
  const gatewayNames = names.filter((name) => !NOT_GATEWAY.has(name));
  const otherNames = names.filter((name) => NOT_GATEWAY.has(name));
  const settings = results.settings as { generator?: { name?: string } };
  const lines = ['', `CPU ms per request by process @ ${summary.rps} RPS (user + system time over the measured runs / 2xx answers; ` +
    `generator: ${settings.generator?.name ?? 'node'}):`, ''];
  lines.push(`| contender | ${gatewayNames.join(' | ')} | gateway total | ${otherNames.join(' | ')} |`);
  lines.push(`| --- | ${gatewayNames.map(() => '---').join(' | ')} | --- | ${otherNames.map(() => '---').join(' | ')} |`);
  for (const [contender, processes] of byContender) {
    const own = gatewayNames.filter((name) => processes[name] !== undefined);
    const total = own.length ? own.reduce((sum, name) => sum + (processes[name] ?? 0), 0) : null;
    lines.push(`| ${contender} | ${gatewayNames.map((name) => cell(processes[name], 3)).join(' | ')} | ${cell(total, 3)} | ` +
      `${otherNames.map((name) => cell(processes[name], 3)).join(' | ')} |`);
  }
  return lines;
}

/** What the table cannot say by itself: how each figure is taken and how the contenders are set up. */
function howToRead(results: PeersResults): string[] {
  const setupOf = (name: string) => {
    const entry = results.contenders.find((c) => c.name === name);
    return entry?.status === 'ok' ? (entry.setup as Record<string, unknown>) : null;
  };
  const litellm = setupOf('litellm') ?? setupOf('litellm-auth');
  const portkey = setupOf('portkey');
  const settings = results.settings as {
    generator?: { name: string; version?: string; process?: string };
    body?: { kind: string; bytes: number; description: string };
    load?: string;
  };
  return [
    ...(settings.generator ? [`Load generator: ${settings.generator.name === 'go'
      ? `our Go generator (test/bench/loadgen, ${settings.generator.version ?? 'go'}), its own process`
      : `the Node/undici generator inside the benchmark's process`}; ${settings.load ?? ''}.`] : []),
    ...(settings.body ? [`Body (${settings.body.kind}, ${settings.body.bytes} bytes): ${settings.body.description}.`] : []),
    'Everything runs on this one machine: the load generator, the fake provider and every gateway share its cores (2 here), ' +
      'so a gateway\'s figures include waiting for a core. Each run records the generator\'s CPU and other processes\' CPU in results/peers.json.',
    'Fixed rates are open loop and latency counts from each request\'s scheduled send time: a gateway that cannot keep up shows its queue ' +
      'as latency (and errors once requests time out after 10 s), not as a politely lower rate.',
    '"Added" is the contender\'s latency minus direct\'s at the same rate and percentile in the same run; ×Envoy divides by bare Envoy\'s ' +
      'added latency (or max RPS), ×Tollgate by Tollgate\'s with every stage on.',
    'Max throughput: 50 connections in a closed loop for the stated seconds; the load generator\'s own CPU caps what direct and bare Envoy can show.',
    'RSS is summed over each gateway\'s process tree (Envoy + Tollgate, + Redis with every stage on; LiteLLM\'s parent and workers); ' +
      'pages shared between processes count once per process. CPU s / 10k: the tree\'s CPU during the highest-rate fixed runs per 10,000 answered requests.',
    ...('cpu_ms_per_request' in results ? ['CPU ms per request by process: each process\'s (and its children\'s) user + system time from /proc/<pid>/stat, ' +
      'read just before and after each measured fixed-rate run (warm-up excluded), divided by the 2xx answers; "gateway total" adds the gateway\'s own ' +
      'processes. The fake provider serves every contender\'s requests, so its figure is the same work each time; the generator\'s is the cost of producing the load.'] : []),
    ...(litellm ? [`LiteLLM: ${String(litellm.workers)} uvicorn workers (one per core; Envoy runs 2 worker threads), logging at WARNING. "Auth on" is its master key: ` +
      'LiteLLM\'s virtual keys live in PostgreSQL through Prisma, whose engine binaries are downloaded at run time from a host this machine cannot reach. ' +
      'Without a master key it refuses to start unless told `dangerously_permit_weak_or_unset_master_key`.'] : []),
    ...(portkey ? [`Portkey: no gateway auth by default (it forwards the caller's Authorization header to the provider); routed per request with ` +
      `x-portkey-provider + x-portkey-custom-host; hono ${String(portkey.hono)} and @hono/node-server pinned to its own lockfile with npm overrides ` +
      '(newer ones break its streaming with `TypeError: immutable`).'] : []),
  ];
}
