import type { Pool } from 'undici';
import { summarize, type LatencySummary } from './percentiles.ts';
import { FailureTally } from './failure-tally.ts';

/**
 * Closed-loop load for maximum throughput: `connections` clients each send a request, read the whole answer and send
 * the next at once, for durationMs. What the system under test completes per second is its throughput at that
 * concurrency; failures are counted, not retried. (The fixed-rate figures come from lib/paced-load.ts instead:
 * closed loops hide stalls, see coordinated omission.)
 */
export interface ClosedLoadOptions {
  path: string;
  headers: Record<string, string>;
  bodyFor: (index: number) => string;
  connections: number;
  durationMs: number;
}

export interface ClosedLoadResult {
  connections: number;
  durationMs: number;
  ok: number;
  /** Non-2xx answers by status, transport errors by message. */
  statuses: Record<string, number>;
  errors: Record<string, number>;
  errorSamples: string[];
  errorCount: number;
  /** errorCount / all answered requests. */
  errorRate: number;
  /** 2xx answers per second. */
  rps: number;
  latency: LatencySummary;
}

export async function runClosedLoad(pool: Pool, options: ClosedLoadOptions): Promise<ClosedLoadResult> {
  const failures = new FailureTally();
  const latencies: number[] = [];
  let ok = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const client = async () => {
    while (performance.now() < deadline) {
      const index = sent++;
      const sentAt = performance.now();
      try {
        const response = await pool.request({ path: options.path, method: 'POST', headers: options.headers, body: options.bodyFor(index) });
        const text = await response.body.text();
        if (response.statusCode >= 200 && response.statusCode < 300) {
          ok += 1;
          latencies.push(performance.now() - sentAt);
        } else {
          failures.status(response.statusCode, () => text.slice(0, 300));
        }
      } catch (error) {
        failures.error(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  const seconds = (performance.now() - started) / 1000;
  const errorCount = failures.count;
  return {
    connections: options.connections,
    durationMs: options.durationMs,
    ok,
    statuses: failures.statuses,
    errors: failures.errors,
    errorSamples: failures.samples,
    errorCount,
    errorRate: ok + errorCount ? Math.round((errorCount / (ok + errorCount)) * 10_000) / 10_000 : 0,
    rps: Math.round((ok / seconds) * 10) / 10,
    latency: summarize(latencies),
  };
}
