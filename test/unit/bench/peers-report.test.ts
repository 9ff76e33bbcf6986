import { describe, expect, it } from 'vitest';
import type { PacedLoadResult } from '../../bench/lib/paced-load.ts';
import { summarize } from '../../bench/lib/percentiles.ts';
import type { RunResources } from '../../bench/lib/resource-meter.ts';
import type { Contender, ContenderName, ContenderSpec } from '../../bench/peers/contender.ts';
import { buildPeersResults, peersMarkdown, type FixedRun, type MaxRun } from '../../bench/peers/report.ts';

/** Synthetic runs with known figures: the results file must compute added latency, ratios and the target from them. */
const NAMES: ContenderName[] = ['direct', 'envoy', 'tollgate-full', 'portkey'];
const specs: ContenderSpec[] = NAMES.map((name) => ({ name, description: name, start: () => Promise.reject(new Error('unused')) }));
const contender = (name: ContenderName): Contender => ({
  name, label: name, version: '1', origin: 'http://127.0.0.1:1', headers: {}, roots: () => (name === 'direct' ? [] : [1]), setup: {},
});
const resources = (cpuSeconds: number): RunResources => ({ wallSeconds: 10, cpuSeconds, cpuPct: cpuSeconds * 10, peakRssMb: 100, generatorCpuPct: 10, foreignCpuPct: 0 });

/** A run whose every latency is `ms` (so p50 = p90 = p99 = ms), all answered. */
function fixed(name: ContenderName, rps: number, rep: number, ms: number, cpuSeconds = 1): FixedRun {
  const latencies = new Float64Array(1000).fill(ms);
  const result: PacedLoadResult = {
    rps, durationMs: 10_000, scheduled: 1000, ok: 1000, statuses: {}, errors: {}, errorSamples: [], unanswered: 0, errorCount: 0,
    latency: summarize(latencies), sendLag: summarize([0]), achievedRps: rps, responseBytes: 0, raw: { t0Epoch: 0, intervalMs: 1, latencies },
  };
  return { contender: name, rps, rep, result, resources: resources(cpuSeconds), attempts: 1 };
}

function max(name: ContenderName, rps: number): MaxRun {
  return {
    contender: name, resources: resources(1),
    result: { connections: 50, durationMs: 10_000, ok: rps * 10, statuses: {}, errors: {}, errorSamples: [], errorCount: 0, errorRate: 0, rps, latency: summarize([1]) },
  };
}

function results(portkeyMs: number) {
  const latencies: Record<ContenderName, [number, number]> = {
    direct: [1, 1.2], envoy: [1.5, 1.7], 'tollgate-full': [3, 3.4], portkey: [portkeyMs, portkeyMs],
  } as Record<ContenderName, [number, number]>;
  return buildPeersResults({
    date: 'd', trial: true, machine: {}, versions: {}, command: 'c', settings: { stream_content_chunks: 5, max_foreign_cpu_pct: 10 },
    specs, running: NAMES.map(contender), unavailable: {}, idleRssMb: {},
    fixed: NAMES.flatMap((name) => [fixed(name, 500, 1, (latencies[name] as [number, number])[0], 2), fixed(name, 500, 2, (latencies[name] as [number, number])[1], 2)]),
    max: [max('direct', 9000), max('envoy', 8000), max('tollgate-full', 2000), max('portkey', 1000)],
    streams: [], rates: [500],
  });
}

describe('buildPeersResults', () => {
  it('reports added latency over direct from the medians of the repetitions, with ratios to bare Envoy and Tollgate', () => {
    const out = results(10);
    const entry = (name: string) => out.contenders.find((c) => c.name === name);
    const tollgate = entry('tollgate-full');
    if (tollgate?.status !== 'ok') throw new Error('tollgate-full missing');
    // median(3, 3.4) − median(1, 1.2) = 3.2 − 1.1
    expect(tollgate.p50_added_ms).toBeCloseTo(2.1, 6);
    expect(tollgate.ratio_to_envoy.p50_added).toBeCloseTo(2.1 / 0.5, 2);
    expect(tollgate.ratio_to_envoy.max_rps).toBe(0.25);
    // 2 CPU s per 1000 answered requests in each of the two runs
    expect(tollgate.cpu_s_per_10k).toBe(20);
    const direct = entry('direct');
    if (direct?.status !== 'ok') throw new Error('direct missing');
    expect(direct.cpu_s_per_10k).toBeNull();
    expect(direct.ratio_to_envoy.p50_added).toBeNull();
  });

  it('meets the target only when Tollgate beats every peer on p50, p99 and max throughput', () => {
    expect(results(10).target.met).toBe(true);
    const lost = results(2);
    expect(lost.target.met).toBe(false);
    expect(lost.target.checks).toEqual([{ peer: 'portkey', p50_added_lower: false, p99_added_lower: false, max_rps_higher: true }]);
    expect(peersMarkdown(lost)).toContain('**MISSED**');
  });
});

describe('cpu_ms_per_request', () => {
  it('divides each process\'s CPU over the repetitions by their 2xx answers, per contender and in the summary table', () => {
    const withProcesses = (run: FixedRun, cpu: Record<string, number>): FixedRun => ({ ...run, resources: { ...run.resources, cpuSecondsByProcess: cpu } });
    const out = buildPeersResults({
      date: 'd', trial: true, machine: {}, versions: {}, command: 'c', settings: { stream_content_chunks: 5, max_foreign_cpu_pct: 10, generator: { name: 'go' } },
      specs: specs.filter((spec) => spec.name !== 'portkey'), running: NAMES.filter((name) => name !== 'portkey').map(contender), unavailable: {}, idleRssMb: {},
      fixed: [
        withProcesses(fixed('direct', 500, 1, 1), { fake: 0.1, generator: 0.05 }),
        withProcesses(fixed('direct', 500, 2, 1), { fake: 0.1, generator: 0.05 }),
        withProcesses(fixed('envoy', 500, 1, 1.5), { envoy: 0.2, fake: 0.1, generator: 0.05 }),
        withProcesses(fixed('envoy', 500, 2, 1.5), { envoy: 0.3, fake: 0.1, generator: 0.05 }),
        // 1000 answers per run: 0.5 s of Tollgate CPU is 0.5 ms per request
        withProcesses(fixed('tollgate-full', 500, 1, 3), { tollgate: 0.5, envoy: 0.2, redis: 0.1, fake: 0.1, generator: 0.05 }),
        withProcesses(fixed('tollgate-full', 500, 2, 3), { tollgate: 0.7, envoy: 0.2, redis: 0.1, fake: 0.1, generator: 0.05 }),
      ],
      max: [], streams: [], rates: [500],
    });
    const tollgate = out.contenders.find((c) => c.name === 'tollgate-full');
    if (tollgate?.status !== 'ok') throw new Error('tollgate-full missing');
    expect(tollgate.cpu_ms_per_request).toEqual({ tollgate: 0.6, envoy: 0.2, redis: 0.1, fake: 0.1, generator: 0.05 });
    expect(tollgate.by_rate[0]?.reps[1]?.cpu_ms_per_request).toEqual({ tollgate: 0.7, envoy: 0.2, redis: 0.1, fake: 0.1, generator: 0.05 });
    expect(out.cpu_ms_per_request.rps).toBe(500);
    expect(out.cpu_ms_per_request.contenders.envoy).toEqual({ envoy: 0.25, fake: 0.1, generator: 0.05 });
    const markdown = peersMarkdown(out);
    expect(markdown).toContain('CPU ms per request by process @ 500 RPS');
    expect(markdown).toContain('| contender | tollgate | envoy | redis | gateway total | fake | generator |');
    expect(markdown).toContain('| tollgate-full | 0.600 | 0.200 | 0.100 | 0.900 | 0.100 | 0.050 |');
    expect(markdown).toContain('| direct | — | — | — | — | 0.100 | 0.050 |');
  });
});
