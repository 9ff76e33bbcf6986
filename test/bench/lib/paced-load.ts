import { Pool } from 'undici';
import { summarize, type LatencySummary } from './percentiles.ts';
import { FailureTally } from './failure-tally.ts';

/**
 * Open-loop, fixed-rate load (the wrk2 model): request i is due at t0 + i/rps and is sent then, whether or not
 * earlier requests have answered (the pool has many connections, pipelining 1). Its latency is measured from that
 * scheduled time, not from when it actually went out, so a stall in the system under test (or in this generator)
 * shows up in the tail instead of silently delaying the next sends (coordinated omission).
 *
 * Pacing uses timers only (no busy loop: this machine has 2 cores shared with the system under test); a timer
 * wakes at most ~1 ms late, and that lag is recorded separately (sendLag) so it can be told apart from the target's.
 */
export interface PacedLoadOptions {
  /** Request path, e.g. /v1/chat/completions. */
  path: string;
  method?: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
  /** The body of request i, when each request needs its own (e.g. unique prompts, so a cache never hits). */
  bodyFor?: (index: number) => string;
  rps: number;
  durationMs: number;
  /** How long to wait for the last answers after the last send (default 15 s). */
  drainTimeoutMs?: number;
}

export interface PacedLoadResult {
  rps: number;
  durationMs: number;
  scheduled: number;
  /** 2xx responses, whole body read. */
  ok: number;
  /** Non-2xx responses, by status. */
  statuses: Record<string, number>;
  /** Transport errors (connect, reset, timeout), by message. */
  errors: Record<string, number>;
  /** The first few non-2xx answers (status, a few headers, start of the body), to tell what failed. */
  errorSamples: string[];
  /** Requests still unanswered when the drain timeout passed. */
  unanswered: number;
  errorCount: number;
  /** Latency of the 2xx responses from their scheduled send time (ms). */
  latency: LatencySummary;
  /** How late the generator actually dispatched each request (ms): its own pacing error, included in latency. */
  sendLag: LatencySummary;
  /** Completed 2xx responses per second over the sending window. */
  achievedRps: number;
  responseBytes: number;
  /** Per request: latency (ms, NaN when it failed); request i was scheduled at t0Epoch + i * intervalMs (epoch ms). */
  raw: { t0Epoch: number; intervalMs: number; latencies: Float64Array };
}

/** A keep-alive pool to one origin: enough connections that an open-loop burst never waits for a free one. */
export function createPool(origin: string, connections = 128): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
  });
}

export function runPacedLoad(pool: Pool, options: PacedLoadOptions): Promise<PacedLoadResult> {
  const total = Math.max(1, Math.round((options.rps * options.durationMs) / 1000));
  const intervalMs = 1000 / options.rps;
  const latencies = new Float64Array(total).fill(Number.NaN);
  const sendLags = new Float64Array(total);
  const failures = new FailureTally();
  const method = options.method ?? 'POST';
  const { path, headers, body, bodyFor } = options;
  let ok = 0;
  let responseBytes = 0;
  let inflight = 0;
  let next = 0;
  let lastAnswerAt = 0;

  return new Promise<PacedLoadResult>((resolve) => {
    const t0 = performance.now() + 10;
    let finished = false;
    let drainTimer: NodeJS.Timeout | null = null;

    const finish = () => {
      if (finished) return;
      finished = true;
      if (drainTimer) clearTimeout(drainTimer);
      const errorCount = failures.count + inflight;
      const windowMs = Math.max(lastAnswerAt - t0, options.durationMs);
      resolve({
        rps: options.rps,
        durationMs: options.durationMs,
        scheduled: total,
        ok,
        statuses: failures.statuses,
        errors: failures.errors,
        errorSamples: failures.samples,
        unanswered: inflight,
        errorCount,
        latency: summarize(latencies),
        sendLag: summarize(sendLags),
        achievedRps: Math.round((ok / windowMs) * 1000 * 10) / 10,
        responseBytes,
        raw: { t0Epoch: performance.timeOrigin + t0, intervalMs, latencies },
      });
    };

    const answered = () => {
      inflight -= 1;
      lastAnswerAt = performance.now();
      if (next >= total && inflight === 0) finish();
    };

    const fire = (index: number, scheduledAt: number) => {
      sendLags[index] = performance.now() - scheduledAt;
      inflight += 1;
      pool.request({ path, method, headers, body: bodyFor ? bodyFor(index) : body }).then(
        async (response) => {
          const bytes = await response.body.arrayBuffer();
          const doneAt = performance.now();
          responseBytes += bytes.byteLength;
          if (response.statusCode >= 200 && response.statusCode < 300) {
            ok += 1;
            latencies[index] = doneAt - scheduledAt;
          } else {
            failures.status(response.statusCode, () => {
              const flags = response.headers['x-envoy-response-flags'] ?? response.headers['x-tollgate-request-id'] ?? '';
              return `${String(flags)} ${Buffer.from(bytes).toString('utf8').slice(0, 300)}`;
            });
          }
          answered();
        },
      ).catch((error: unknown) => {
        failures.error(error);
        answered();
      });
    };

    const tick = () => {
      const now = performance.now();
      while (next < total) {
        const due = t0 + next * intervalMs;
        if (due > now) break;
        fire(next, due);
        next += 1;
      }
      if (next < total) {
        // Node truncates the delay to whole ms (minimum 1): we wake at most ~1 ms late and send what is due.
        setTimeout(tick, Math.max(0, t0 + next * intervalMs - performance.now()));
        return;
      }
      if (inflight === 0) finish();
      else drainTimer = setTimeout(finish, options.drainTimeoutMs ?? 15_000);
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}
