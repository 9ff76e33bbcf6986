import type { Histogram } from 'prom-client';

export interface HistogramSummary {
  count: number;
  mean_ms: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

interface Series {
  sum: number;
  count: number;
  /** Cumulative counts by upper bound (seconds), ascending; +Inf last. */
  buckets: Map<number, number>;
}

/**
 * A quantile from cumulative bucket counts, interpolated linearly inside the bucket it falls in (what PromQL's
 * histogram_quantile does); in the +Inf bucket it answers the highest finite bound.
 */
function quantile(series: Series, q: number): number | null {
  if (!series.count) return null;
  const rank = q * series.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, cumulative] of series.buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(bound)) return lowerBound;
      const inBucket = cumulative - lowerCount;
      return inBucket ? lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket : bound;
    }
    lowerBound = bound;
    lowerCount = cumulative;
  }
  return lowerBound;
}

const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 100_000) / 100);

/**
 * Count, mean and quantiles of a seconds histogram per value of one label, summed over its other labels (e.g. time
 * to first token per provider over all models). Read from this process's registry: since it started.
 */
export async function summarizeHistogram<L extends string>(
  histogram: Histogram<L>,
  byLabel: L,
  keep: (labels: Partial<Record<L, string | number>>) => boolean = () => true,
): Promise<Map<string, HistogramSummary>> {
  const bySeries = new Map<string, Series>();
  for (const value of (await histogram.get()).values) {
    const labels = value.labels as Partial<Record<L | 'le', string | number>>;
    if (!keep(labels)) continue;
    const name = String(labels[byLabel] ?? '');
    let series = bySeries.get(name);
    if (!series) bySeries.set(name, (series = { sum: 0, count: 0, buckets: new Map() }));
    if (value.metricName?.endsWith('_sum')) series.sum += value.value;
    else if (value.metricName?.endsWith('_count')) series.count += value.value;
    else if (value.metricName?.endsWith('_bucket')) {
      const bound = labels.le === '+Inf' ? Infinity : Number(labels.le);
      series.buckets.set(bound, (series.buckets.get(bound) ?? 0) + value.value);
    }
  }
  const summaries = new Map<string, HistogramSummary>();
  for (const [name, series] of bySeries) {
    series.buckets = new Map([...series.buckets].sort(([a], [b]) => a - b));
    summaries.set(name, {
      count: series.count,
      mean_ms: series.count ? ms(series.sum / series.count) : null,
      p50_ms: ms(quantile(series, 0.5)),
      p95_ms: ms(quantile(series, 0.95)),
    });
  }
  return summaries;
}
