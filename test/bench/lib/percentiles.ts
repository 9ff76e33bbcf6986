/** Latency summary of one run, in milliseconds. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface LatencySummary extends Percentiles {
  count: number;
  mean: number;
  max: number;
  p999: number;
}

/** Nearest-rank percentile (q in 0..1) of an ascending array. */
export function percentileOfSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** Summarises latencies (ms); NaN entries (failed requests) are left out. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isNaN(value)) kept.push(value);
  }
  const sorted = Float64Array.from(kept).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: round3(percentileOfSorted(sorted, 0.5)),
    p90: round3(percentileOfSorted(sorted, 0.9)),
    p99: round3(percentileOfSorted(sorted, 0.99)),
    p999: round3(percentileOfSorted(sorted, 0.999)),
    mean: round3(sorted.length ? sum / sorted.length : Number.NaN),
    max: round3(sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN),
  };
}

/** Just p50/p90/p99, the shape of the results file. */
export function pick(summary: Percentiles): Percentiles {
  return { p50: summary.p50, p90: summary.p90, p99: summary.p99 };
}

/** a − b per percentile. */
export function difference(a: Percentiles, b: Percentiles): Percentiles {
  return { p50: round3(a.p50 - b.p50), p90: round3(a.p90 - b.p90), p99: round3(a.p99 - b.p99) };
}

/** a / b per percentile. */
export function ratio(a: Percentiles, b: Percentiles): Percentiles {
  const r = (x: number, y: number) => Math.round((x / y) * 100) / 100;
  return { p50: r(a.p50, b.p50), p90: r(a.p90, b.p90), p99: r(a.p99, b.p99) };
}
