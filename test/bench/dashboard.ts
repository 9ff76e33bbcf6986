/**
 * How fast the usage dashboard's data answers on a large embedded ledger: 100,000 usage records over 30 days in
 * SQLite (through SqliteSink, the worker thread production uses), then the dashboard's whole summary (all its SQL
 * aggregates, budgets included) for several views, each timed over a few runs.
 *
 *   node_modules/.bin/node test/bench/dashboard.ts   → test/bench/results/dashboard.json   (npm run bench:dashboard)
 * BENCH_ROWS changes the row count.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { dashboardSummary, type DashboardGroup } from '../../src/admin/dashboard-summary.ts';
import type { UsageFilters } from '../../src/ledger/sink.ts';
import { SqliteSink } from '../../src/ledger/sqlite-sink.ts';
import type { UsageRecord } from '../../src/ledger/usage-record.ts';
import type { QuotasConfig } from '../../src/quota/config.ts';
import { commandLine, machineInfo } from './lib/run-info.ts';
import { rng } from './lib/fuzz-cases.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const OUT = resolve(process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/dashboard.json'));
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const RUNS = 7;
const DAY = 86_400_000;
const write = (text: string) => process.stdout.write(text);

function records(now: number): UsageRecord[] {
  const random = rng(15);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const teams = Array.from({ length: 20 }, (_, i) => `team-${i}`);
  const features = Array.from({ length: 30 }, (_, i) => `feature-${i}`);
  const models = ['gpt-4o-mini', 'gpt-4o', 'claude-haiku', 'claude-sonnet', 'gemini-flash', 'llama-70b'];
  const providers = ['openai', 'anthropic', 'gemini', 'vllm'];
  return Array.from({ length: ROWS }, (_, i) => {
    const startedAt = now - Math.floor(random() * 30 * DAY);
    const failed = random() < 0.05;
    const cached = !failed && random() < 0.1;
    return {
      requestId: `bench-${i}`, state: 'final', startedAt, endedAt: startedAt + 800, org: 'acme', team: pick(teams),
      app: `app-${Math.floor(random() * 5)}`, user: `user-${Math.floor(random() * 500)}`, feature: pick(features), keyId: 'k',
      endpoint: 'chat', model: pick(models), variant: null, provider: failed && random() < 0.5 ? null : pick(providers),
      upstreamModel: null, attempts: [], stream: random() < 0.5, promptTokens: 200 + Math.floor(random() * 2000),
      completionTokens: Math.floor(random() * 800), cachedPromptTokens: 0, cacheWriteTokens: 0,
      costNanoUsd: failed || cached ? 0n : BigInt(Math.floor(random() * 5_000_000)), pricingId: 'bench',
      latencyMs: 50 + random() * 3000, status: failed ? pick([403, 429, 502]) : 200, outcome: failed ? 'rejected' : 'completed',
      errorCode: failed ? pick(['policy_denied', 'rate_limit_exceeded', 'provider_error']) : null, cacheStatus: cached ? 'hit' : 'miss', traceId: null, reasoningTokens: 0,
    } satisfies UsageRecord;
  });
}

const quotas = { budgets: { team: { '*': { monthly_usd: 500, daily_usd: 40 } }, app: {}, user: {}, feature: { 'acme/feature-1': { monthly_usd: 100 } } } } as unknown as QuotasConfig;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-dashboard-bench-'));
  const sink = new SqliteSink({ path: join(dir, 'ledger.sqlite') });
  try {
    await sink.migrate();
    const now = Date.now();
    const rows = records(now);
    const loadStart = performance.now();
    for (let i = 0; i < rows.length; i += 5000) await sink.write(rows.slice(i, i + 5000));
    const loadMs = performance.now() - loadStart;
    write(`loaded ${ROWS} rows in ${Math.round(loadMs)} ms\n`);
    const deps = { ledger: { aggregate: sink.aggregate.bind(sink) }, quotas: () => quotas, killSwitches: { list: async () => [] }, now: () => now };
    const views: Array<{ name: string; days: number; groupBy: DashboardGroup; where: UsageFilters }> = [
      { name: 'last 30 days, by team (every row)', days: 30, groupBy: 'team', where: {} },
      { name: 'last 7 days, by model', days: 7, groupBy: 'model', where: {} },
      { name: 'last 30 days, one team, by user', days: 30, groupBy: 'user', where: { team: 'team-3' } },
      { name: 'last 24 hours, by feature', days: 1, groupBy: 'feature', where: {} },
    ];
    const results = [];
    for (const view of views) {
      const times: number[] = [];
      const cpu: number[] = [];
      let size = 0;
      for (let run = 0; run < RUNS; run++) {
        const start = performance.now();
        const cpuStart = process.cpuUsage();
        const summary = await dashboardSummary(deps, { from: now - view.days * DAY, to: now + 1, groupBy: view.groupBy, where: view.where });
        const used = process.cpuUsage(cpuStart);
        times.push(performance.now() - start);
        cpu.push((used.user + used.system) / 1000);
        size = JSON.stringify(summary).length;
      }
      times.sort((a, b) => a - b);
      cpu.sort((a, b) => a - b);
      const mid = Math.floor(RUNS / 2);
      const result = {
        view: view.name, runs: RUNS,
        median_wall_ms: Math.round(times[mid]! * 10) / 10, max_wall_ms: Math.round(times.at(-1)! * 10) / 10,
        median_cpu_ms: Math.round(cpu[mid]! * 10) / 10, response_bytes: size,
      };
      write(`${result.view}: wall median ${result.median_wall_ms} ms (max ${result.max_wall_ms}), CPU median ${result.median_cpu_ms} ms, ${size} bytes\n`);
      results.push(result);
    }
    await writeFile(OUT, `${JSON.stringify({
      benchmark: 'dashboard',
      date: new Date().toISOString(),
      command: commandLine(projectRoot),
      machine: machineInfo(),
      /** 1-minute load average at the end: on a shared 2-core machine wall times grow with it, CPU times much less. */
      load_average: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      node: process.version,
      rows: ROWS,
      load_ms: Math.round(loadMs),
      views: results,
      notes: [
        'Each view is the whole /dashboard/api/summary computation: its ledger aggregates (series by bucket, users, features, providers with the team and model menus, cache and error outcomes, the menus again when filtered) plus the budget aggregates, no metrics registry.',
        'The aggregates read the summary tables the ledger keeps (migration 0006, src/ledger/rollups.ts; in SQLite its writer, src/ledger/sqlite-summaries.ts): whole days from the daily ones, whole hours from the hourly one, the partial hours at the ends from the records. load_ms includes the summary upkeep; the first view also applies the summary changes captured since the last flush.',
        'SQLite aggregates run one after another on the ledger worker thread; the event loop stays free meanwhile.',
        'CPU ms: process.cpuUsage() of the whole benchmark process (the ledger worker thread does the work; the main thread only waits), the figure that does not depend on what else the machine runs.',
      ],
    }, null, 2)}\n`);
    write(`wrote ${OUT}\n`);
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
