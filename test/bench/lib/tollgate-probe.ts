/**
 * Diagnostics preloaded into the Tollgate child for BENCH_PROBE=1 (NODE_OPTIONS="--import <this file>"): once a
 * second it appends one JSON line to BENCH_PROBE_FILE with memory (RSS, V8 heap, external/array buffers), event-loop
 * delay and the GC pauses of that second. Tollgate's code is untouched.
 */
import { appendFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

const file = process.env.BENCH_PROBE_FILE;

interface GcWindow { count: number; totalMs: number; maxMs: number; over5ms: number; byKind: Record<string, { count: number; totalMs: number; maxMs: number }> }

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

if (file) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let gc: GcWindow = { count: 0, totalMs: 0, maxMs: 0, over5ms: 0, byKind: {} };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      const slot = (gc.byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      gc.count += 1;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      if (entry.duration > 5) gc.over5ms += 1;
      if (entry.duration > 2) {
        appendFileSync(file, `${JSON.stringify({ pause: kind, start: Math.round(performance.timeOrigin + entry.startTime), ms: Math.round(entry.duration * 100) / 100 })}\n`);
      }
      slot.count += 1;
      slot.totalMs += entry.duration;
      slot.maxMs = Math.max(slot.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  setInterval(() => {
    const memory = process.memoryUsage();
    const heap = getHeapStatistics();
    appendFileSync(file, `${JSON.stringify({
      t: Date.now(),
      rss_mb: mb(memory.rss),
      heap_total_mb: mb(memory.heapTotal),
      heap_used_mb: mb(memory.heapUsed),
      external_mb: mb(memory.external),
      array_buffers_mb: mb(memory.arrayBuffers),
      malloced_mb: mb(heap.malloced_memory),
      loop_delay_ms: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      gc,
    })}\n`);
    loop.reset();
    gc = { count: 0, totalMs: 0, maxMs: 0, over5ms: 0, byKind: {} };
  }, 1000).unref();
}
