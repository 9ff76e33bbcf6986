import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClosedLoadResult } from '../../bench/lib/closed-loop.ts';
import { summarize } from '../../bench/lib/percentiles.ts';
import type { RunResources } from '../../bench/lib/resource-meter.ts';
import { resultsMarkdown } from '../../bench/lib/results-markdown.ts';
import { buildScalingResults, scalingMarkdown, scalingRun, type ScalingRun } from '../../bench/lib/scaling-report.ts';

/** Synthetic closed-loop runs with known figures: the summary must compute medians, speed-ups and CPU per request from them. */
const machine = { cores: 2, model: 'test', memory_gib: 1, os: 'test' };
const settings = { processes: [1, 2], connections: 50, seconds: 10, warmup_seconds: 2, repetitions: 2, max_foreign_cpu_pct: 10 };

function closed(rps: number, errors = 0): ClosedLoadResult {
  const ok = rps * 10;
  return {
    connections: 50, durationMs: 10_000, ok, statuses: errors ? { 503: errors } : {}, errors: {}, errorSamples: errors ? ['HTTP 503'] : [],
    errorCount: errors, errorRate: errors / (ok + errors), rps, latency: summarize([10, 20, 30]),
  };
}

function resources(cpu: Record<string, number>, foreignCpuPct = 0): RunResources {
  return { wallSeconds: 10, cpuSeconds: 0, cpuPct: 0, peakRssMb: 400, generatorCpuPct: 5, foreignCpuPct, cpuSecondsByProcess: cpu };
}

/** 1000 RPS for 10 s: 10,000 answers; Tollgate CPU seconds × 0.1 = ms per request. */
function run(processes: number, rep: number, rps: number, tollgateBySelf: number[], options: { errors?: number; foreign?: number } = {}): ScalingRun {
  const cpu: Record<string, number> = {
    tollgate: tollgateBySelf.reduce((sum, s) => sum + s, 0), envoy: 4, redis: 2, fake: 1, generator: 0.5,
    ...Object.fromEntries(tollgateBySelf.map((seconds, i) => [`tollgate#${i + 1}`, seconds])),
  };
  return scalingRun({ processes, rep, result: closed(rps, options.errors), resources: resources(cpu, options.foreign), tollgateRssMb: 250 * processes });
}

function results(runs: ScalingRun[]) {
  return buildScalingResults({
    date: 'd', trial: false, machine, versions: { node: 'v24' }, command: 'c', settings, setups: {}, unavailable: {}, runs,
  });
}

describe('scalingRun', () => {
  it('keeps the summed groups apart from each Tollgate process, in start order', () => {
    const cpu = { tollgate: 9, envoy: 4, 'tollgate#2': 4, 'tollgate#10': 1, 'tollgate#1': 4 };
    const out = scalingRun({ processes: 3, rep: 1, result: closed(1000), resources: resources(cpu), tollgateRssMb: 700.04 });
    expect(out.cpu_s).toEqual({ tollgate: 9, envoy: 4 });
    expect(out.tollgate_cpu_s_by_process).toEqual([4, 4, 1]);
    expect(out.rss_mb).toEqual({ tollgate: 700, gateway_peak: 400 });
    expect(out.error_detail).toBeUndefined();
  });
});

describe('buildScalingResults', () => {
  const out = results([
    run(1, 1, 950, [9]), run(2, 1, 1100, [4.5, 4.5]),
    run(2, 2, 1000, [4, 4]), run(1, 2, 1000, [9]),
  ]);
  const [one, two] = out.summary;

  it('takes the median max RPS of the repetitions and divides by one process\'s', () => {
    expect(one?.max_rps).toBe(975);
    expect(two?.max_rps).toBe(1050);
    expect(two?.speedup).toBe(1.08);
    expect(two?.rps_per_process).toBe(525);
    expect(one?.rps_spread).toBe(0.05);
    expect(two?.rps_spread).toBe(0.1);
    expect(one?.speedup).toBe(1);
  });

  it('divides each group\'s CPU over the repetitions by their answers, and by their seconds for cores busy', () => {
    // one process: 18 s of Tollgate CPU over 19,500 answers; two: 17 s over 21,000
    expect(one?.cpu_ms_per_request).toEqual({ tollgate: 0.923, envoy: 0.41, redis: 0.205, fake: 0.103, generator: 0.051 });
    expect(two?.cpu_ms_per_request.tollgate).toBe(0.81);
    expect(two?.gateway_cpu_ms_per_request).toBe(1.381);
    expect(two?.cores_busy).toEqual({ tollgate: 0.85, envoy: 0.4, redis: 0.2, fake: 0.1, generator: 0.05, all: 1.6 });
    expect(two?.tollgate_cpu_share_by_process).toEqual([0.5, 0.5]);
    expect(two?.rss_mb.tollgate).toBe(500);
  });

  it('notes a saturated Tollgate process, errors, an uneven spread, a busy machine and disturbed runs', () => {
    expect(out.notes).toEqual(['1 process: the Tollgate process kept 0.90 of a core busy: Tollgate itself was the bottleneck (its work runs on one JavaScript thread per process)']);
    const odd = results([
      run(1, 1, 1000, [9]),
      run(2, 1, 1000, [12, 2], { errors: 5, foreign: 30 }),
    ]);
    expect(odd.summary[1]?.errors).toBe(5);
    expect(odd.notes.join('\n')).toContain('2 processes: 5 errors (0.05 %), e.g. 5 × HTTP 503');
    expect(odd.notes.join('\n')).toContain('did not share the work evenly (CPU shares 0.86 / 0.14)');
    expect(odd.notes.join('\n')).toContain('kept 2.15 of the machine\'s 2 cores busy');
    expect(odd.notes.join('\n')).toContain('1 run shared the machine with other processes (over 10 % of a core: 2 processes #1 30 %)');
  });

  it('has no speed-up without a one-process run', () => {
    const alone = results([run(2, 1, 1000, [5, 5])]);
    expect(alone.summary[0]?.speedup).toBeNull();
    expect(alone.notes).toContain('one process did not run: no "× 1 process" figures');
  });
});

describe('scalingMarkdown', () => {
  it('draws the throughput bars and both tables from the results file alone', () => {
    const out = results([run(1, 1, 1000, [9]), run(2, 1, 2000, [9, 9])]);
    const markdown = scalingMarkdown(JSON.parse(JSON.stringify(out)));
    expect(markdown).toContain(`1 process    ${'█'.repeat(20)}${' '.repeat(21)}   1000 RPS\n`);
    expect(markdown).toContain(`2 processes  ${'█'.repeat(40)}    2000 RPS  ×2.00\n`);
    expect(markdown).toContain('| 2 | 2000 | 2000 | ×2.00 | 0 (0.0 %) | 20.00 / 30.00 | 0.50 / 0.50 | 500 |');
    expect(markdown).toContain('| Tollgate processes | tollgate | envoy | redis | gateway total | fake | generator | cores busy: tollgate / envoy / redis / fake / generator / all |');
    expect(markdown).toContain('| 1 | 0.900 | 0.400 | 0.200 | 1.500 | 0.100 | 0.050 | 0.90 / 0.40 / 0.20 / 0.10 / 0.05 / 1.65 |');
    expect(markdown).toContain('50 connections, 10 s after 2 s of warm-up, 2 repetitions alternating the order (medians); Go generator; 2 cores.');
  });

  it('is RESULTS.md\'s section for results/scaling.json, after the peers', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'scaling-md-'));
    try {
      writeFileSync(join(dir, 'scaling.json'), JSON.stringify({ ...results([run(1, 1, 1000, [9])]), trial: true }));
      writeFileSync(join(dir, 'other.json'), JSON.stringify({ date: 'd', figure: 1 }));
      const markdown = resultsMarkdown(dir, { date: 'd', machine, runs: [], commands: ['npm run bench'] });
      expect(markdown.indexOf('## scaling (`results/scaling.json`)')).toBeLessThan(markdown.indexOf('## other'));
      expect(markdown).toContain('TRIAL run');
      expect(markdown).toContain('| 1 | 1000 | 1000 | ×1.00 |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
