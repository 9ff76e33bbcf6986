import type { Pool } from 'undici';
import { summarize, type LatencySummary } from './percentiles.ts';

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
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
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
          const key = String(response.statusCode);
          statuses[key] = (statuses[key] ?? 0) + 1;
          if (errorSamples.length < 5) errorSamples.push(`${key} ${text.slice(0, 300)}`);
        }
      } catch (error) {
        const key = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  const seconds = (performance.now() - started) / 1000;
  const errorCount = Object.values(statuses).reduce((a, b) => a + b, 0) + Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    connections: options.connections,
    durationMs: options.durationMs,
    ok,
    statuses,
    errors,
    errorSamples,
    errorCount,
    errorRate: ok + errorCount ? Math.round((errorCount / (ok + errorCount)) * 10_000) / 10_000 : 0,
    rps: Math.round((ok / seconds) * 10) / 10,
    latency: summarize(latencies),
  };
}
