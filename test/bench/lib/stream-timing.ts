import type { Pool } from 'undici';
import { summarize, type LatencySummary } from './percentiles.ts';
import { FailureTally } from './failure-tally.ts';

/**
 * Streaming timings: SSE chat completions sent at a fixed rate (open loop, as lib/paced-load.ts), each read event by
 * event as it arrives. Time to first token is from the scheduled send time to the first event carrying non-empty
 * `delta.content`; inter-chunk delays are the gaps between successive content events of one stream. A gateway that
 * holds chunks back shows up as a later first token, or as gaps near 0 followed by a long one.
 */
export interface StreamTimingOptions {
  path: string;
  headers: Record<string, string>;
  bodyFor: (index: number) => string;
  rps: number;
  durationMs: number;
  drainTimeoutMs?: number;
}

export interface StreamTimingResult {
  scheduled: number;
  ok: number;
  errorCount: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  errorSamples: string[];
  /** ms from the scheduled send to the first content event. */
  ttft: LatencySummary;
  /** ms between successive content events, all streams pooled. */
  interChunk: LatencySummary;
  /** ms from the scheduled send to the end of the stream. */
  total: LatencySummary;
  /** Content events per stream, as the client received them. */
  contentEvents: { min: number; median: number; max: number };
}

/** Non-empty `choices[0].delta.content` of one SSE event block (`data: {...}` lines), or null. */
function contentOf(block: string): string | null {
  for (const line of block.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (!data || data === '[DONE]') continue;
    try {
      const parsed = JSON.parse(data) as { choices?: { delta?: { content?: unknown } }[] };
      const content = parsed.choices?.[0]?.delta?.content;
      if (typeof content === 'string' && content !== '') return content;
    } catch {
      // not JSON: not a content event
    }
  }
  return null;
}

export function runStreamTiming(pool: Pool, options: StreamTimingOptions): Promise<StreamTimingResult> {
  const total = Math.max(1, Math.round((options.rps * options.durationMs) / 1000));
  const intervalMs = 1000 / options.rps;
  const ttfts: number[] = [];
  const gaps: number[] = [];
  const totals: number[] = [];
  const eventCounts: number[] = [];
  const failures = new FailureTally();
  let ok = 0;
  let inflight = 0;

  const streamOne = async (index: number, scheduledAt: number) => {
    const response = await pool.request({ path: options.path, method: 'POST', headers: options.headers, body: options.bodyFor(index) });
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      failures.status(response.statusCode, () => text.slice(0, 300));
      return;
    }
    let buffered = '';
    const contentTimes: number[] = [];
    for await (const chunk of response.body) {
      const now = performance.now();
      buffered += (chunk as Buffer).toString('utf8').replaceAll('\r\n', '\n');
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        if (contentOf(buffered.slice(0, end)) !== null) contentTimes.push(now);
        buffered = buffered.slice(end + 2);
      }
    }
    if (!contentTimes.length) {
      failures.error('stream without content');
      return;
    }
    ok += 1;
    ttfts.push((contentTimes[0] as number) - scheduledAt);
    for (let i = 1; i < contentTimes.length; i++) gaps.push((contentTimes[i] as number) - (contentTimes[i - 1] as number));
    totals.push(performance.now() - scheduledAt);
    eventCounts.push(contentTimes.length);
  };

  return new Promise<StreamTimingResult>((resolve) => {
    const t0 = performance.now() + 10;
    let next = 0;
    let finished = false;
    let drainTimer: NodeJS.Timeout | null = null;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (drainTimer) clearTimeout(drainTimer);
      const sortedCounts = [...eventCounts].sort((a, b) => a - b);
      resolve({
        scheduled: total,
        ok,
        errorCount: total - ok,
        statuses: failures.statuses,
        errors: failures.errors,
        errorSamples: failures.samples,
        ttft: summarize(ttfts),
        interChunk: summarize(gaps),
        total: summarize(totals),
        contentEvents: {
          min: sortedCounts[0] ?? 0,
          median: sortedCounts[Math.floor(sortedCounts.length / 2)] ?? 0,
          max: sortedCounts[sortedCounts.length - 1] ?? 0,
        },
      });
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * intervalMs <= now) {
        const index = next++;
        inflight += 1;
        streamOne(index, t0 + index * intervalMs)
          .catch((error: unknown) => {
            failures.error(error);
          })
          .finally(() => {
            inflight -= 1;
            if (next >= total && inflight === 0) finish();
          });
      }
      if (next < total) {
        setTimeout(tick, Math.max(0, t0 + next * intervalMs - performance.now()));
        return;
      }
      if (inflight === 0) finish();
      else drainTimer = setTimeout(finish, options.drainTimeoutMs ?? 15_000);
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}
