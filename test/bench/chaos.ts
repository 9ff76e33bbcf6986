import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHAOS_MIX, runMixedLoad, percentiles, type RequestRecord } from './lib/mixed-load.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';
import { budgetCounters, ledgerQueue, ledgerSummary, startRig, type Rig } from './lib/soak-rig.ts';

/**
 * Chaos: under steady open-loop load (CHAOS_RPS, default 80: plain chats and streams, no injected faults), one fault
 * at a time on the full deployment (Envoy + two Tollgate processes behind it, Redis with AOF, PostgreSQL ledger, the
 * strict fake provider): SIGKILL one Tollgate process and start a replacement; SIGKILL Redis and restart it; SIGKILL
 * PostgreSQL and restart it; SIGKILL the provider and restart it; SIGSTOP Redis for 5 s and SIGCONT it.
 *
 * For each: what clients got (by status and outcome), which failures fall outside the requests in flight at the
 * fault, how long until every request succeeds again, the ledger afterwards (a row for every answered request, rows
 * still open), and the quota counters (no reservation left, budgets equal to the ledger's cost). Writes
 * test/bench/results/chaos.json.
 */

const projectRoot = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const ORPHAN_TIMEOUT_MS = 8000;

interface Scenario {
  name: string;
  /** What the config promises for it. */
  promise: string;
  /** Injects the fault; returns the moments (performance.now()) of the fault and of the component being back. */
  inject(rig: Rig): Promise<{ faultAt: number; backAt: number; notes?: Record<string, unknown> }>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'kill -9 one of two Tollgate processes, replacement started at once',
    promise: 'extproc fail closed (envoy.failure_mode_allow false): requests whose ext_proc stream was on the killed process fail; new requests go to the surviving process; the killed process\'s ledger entries are claimed by the other (stream.claim_idle_ms) and its open rows closed as orphaned',
    async inject(rig) {
      const faultAt = performance.now();
      await rig.killTollgate(1);
      const killedAt = performance.now();
      await rig.startTollgate(1);
      return { faultAt, backAt: performance.now(), notes: { kill_ms: round(killedAt - faultAt), replacement_healthy_after_ms: round(performance.now() - faultAt) } };
    },
  },
  {
    name: 'kill -9 Redis, restarted after 2 s (AOF, appendfsync always)',
    promise: 'quotas.on_store_failure closed (default): 503 store_unavailable while Redis is down (a fast answer, never a hang); when it is back the clients reconnect by themselves, no Tollgate restart',
    async inject(rig) {
      const faultAt = performance.now();
      await rig.redis.kill();
      await sleep(2000);
      await rig.redis.start();
      return { faultAt, backAt: performance.now() };
    },
  },
  {
    name: 'kill -9 PostgreSQL, restarted after 2 s',
    promise: 'the ledger queue is off the hot path: requests are unaffected; the batch writer retries and the records reach PostgreSQL once it is back',
    async inject(rig) {
      const faultAt = performance.now();
      await rig.postgres.kill();
      await sleep(2000);
      await rig.postgres.restart();
      return { faultAt, backAt: performance.now() };
    },
  },
  {
    name: 'kill -9 the provider, restarted after 2 s',
    promise: 'Envoy answers 503 (no healthy upstream / connect failure) in the OpenAI error shape after its retries; the requests are recorded with their error status; traffic flows again once the provider is back',
    async inject(rig) {
      const faultAt = performance.now();
      await rig.killFake();
      await sleep(2000);
      await rig.startFake();
      return { faultAt, backAt: performance.now() };
    },
  },
  {
    name: 'pause Redis for 5 s (SIGSTOP / SIGCONT)',
    promise: 'store.command_timeout: requests fail fast with 503 store_unavailable (fail closed) instead of hanging; after SIGCONT every request succeeds again',
    async inject(rig) {
      const pid = rig.redis.pid;
      if (!pid) throw new Error('redis is not running');
      const faultAt = performance.now();
      process.kill(pid, 'SIGSTOP');
      await sleep(5000);
      process.kill(pid, 'SIGCONT');
      return { faultAt, backAt: performance.now() };
    },
  },
];

const good = (r: RequestRecord) => r.outcome === 'ok';

/** Envoy's counters for the ext_proc cluster (health checks, ejections, connect failures) so far in the run. */
async function extprocStats(rig: Rig): Promise<Record<string, number>> {
  const text = await fetch(`${rig.envoy.adminUrl}/stats?filter=${encodeURIComponent('^cluster\\.[^.]*extproc[^.]*\\.(health_check\\.(failure|success|network_failure)|outlier_detection\\.ejections_(enforced_total|active)|upstream_cx_connect_fail|upstream_rq_(5xx|total)|membership_healthy)')}`).then((r) => r.text(), () => '');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, value] = line.split(': ');
    if (name && value) out[name.replace(/^cluster\./, '')] = Number(value);
  }
  return out;
}

async function runScenario(rig: Rig, scenario: Scenario, options: { rps: number; seconds: number; faultAfterSeconds: number; log: (line: string) => void; seed: number }) {
  const before = await ledgerSummary(rig.db, []);
  const run = runMixedLoad({ origin: rig.origin, headers: rig.headers, rps: options.rps, durationMs: options.seconds * 1000, mix: CHAOS_MIX, seed: options.seed, timeoutMs: 30_000 });
  await sleep(options.faultAfterSeconds * 1000 - (performance.now() - run.t0));
  const injected = await scenario.inject(rig);
  const records = await run.done;
  const faultMs = injected.faultAt - run.t0;
  const backMs = injected.backAt - run.t0;
  const failed = records.filter((r) => !good(r));
  // In flight at the fault: due before it and not yet finished at it.
  const inflightAtFault = records.filter((r) => r.dueMs <= faultMs && r.dueMs + r.doneMs > faultMs);
  const failedBefore = failed.filter((r) => r.dueMs + r.doneMs < faultMs);
  const failedInflight = failed.filter((r) => r.dueMs <= faultMs && r.dueMs + r.doneMs >= faultMs);
  const failedAfter = failed.filter((r) => r.dueMs > faultMs);
  const lastFailed = failed.reduce((m, r) => Math.max(m, r.dueMs), Number.NEGATIVE_INFINITY);
  const firstFailed = failed.reduce((m, r) => Math.min(m, r.dueMs), Number.POSITIVE_INFINITY);
  // Time to recover: from the fault until the first request after which every request succeeded.
  const recoveredMs = failed.length ? lastFailed - faultMs : 0;
  const statuses: Record<string, number> = {};
  for (const r of failed) {
    const label = `${r.status || 'none'} ${r.outcome.split(':').slice(0, 2).join(':').slice(0, 80)}`;
    statuses[label] = (statuses[label] ?? 0) + 1;
  }
  // Ledger after the drain: every request that got an answer with a request id has its row; wait for the reconciler.
  const seen = new Set(records.flatMap((r) => (r.requestId ? [r.requestId] : [])));
  const okIds = new Set(records.filter(good).flatMap((r) => (r.requestId ? [r.requestId] : [])));
  const deadline = Date.now() + ORPHAN_TIMEOUT_MS + 20_000;
  let ledger = await ledgerSummary(rig.db, seen).catch(() => null);
  while (Date.now() < deadline) {
    const complete = ledger && ledger.missingIds.length === 0 && (ledger.byState.pending ?? 0) === 0 && ledger.rows - before.rows >= records.length;
    if (complete) break;
    await sleep(500);
    ledger = await ledgerSummary(rig.db, seen).catch(() => ledger);
  }
  const rowsOf = await rig.db.query<{ request_id: string; state: string }>('SELECT request_id, state FROM usage_records');
  const state = new Map(rowsOf.rows.map((r) => [r.request_id, r.state]));
  const okNotFinal = [...okIds].filter((id) => state.get(id) !== 'final');
  const queue = await ledgerQueue(rig.redis.url).catch((e: Error) => ({ error: e.message }));
  // Quota leases go back 1 s after their last use (quotas.leases.lease_ms).
  await sleep(1500);
  const counters = await budgetCounters(rig.redis.url);
  const leaked = counters.filter((c) => c.used !== c.settled);
  const newRows = (ledger?.rows ?? 0) - before.rows;
  const result = {
    scenario: scenario.name,
    promise: scenario.promise,
    load: { rps: options.rps, seconds: options.seconds, fault_at_s: round(faultMs / 1000, 2), back_at_s: round(backMs / 1000, 2), ...injected.notes },
    requests: {
      sent: records.length,
      ok: records.length - failed.length,
      failed: failed.length,
      failed_by_status_and_outcome: statuses,
      in_flight_at_fault: inflightAtFault.length,
      failed_among_in_flight: failedInflight.length,
      failed_before_fault: failedBefore.length,
      failed_sent_after_fault: failedAfter.length,
      failure_window_s: failed.length ? [round(firstFailed / 1000, 2), round(lastFailed / 1000, 2)] : null,
      // The first failure of each kind: when it was due (s), how long it took, what the client got.
      failure_samples: [...new Map(failed.map((r) => [`${r.status} ${r.outcome}`, r] as const).reverse()).values()]
        .slice(0, 6).map((r) => ({ due_s: round(r.dueMs / 1000, 2), took_ms: round(r.doneMs), kind: r.kind, status: r.status, outcome: r.outcome.slice(0, 120), body: r.errorBody?.slice(0, 200) })),
    },
    envoy_extproc_cluster: await extprocStats(rig),
    recovery: {
      component_down_ms: round(backMs - faultMs),
      // From the fault until the last failing request was sent: after it, every request succeeded.
      time_to_recover_ms: round(Math.max(0, recoveredMs)),
      after_component_back_ms: round(failed.length ? Math.max(0, lastFailed - backMs) : 0),
      latency_after_back_ms: percentiles(records.filter((r) => good(r) && r.dueMs > backMs && r.kind !== 'stream').map((r) => r.doneMs)),
    },
    ledger: {
      new_rows: newRows,
      requests_sent: records.length,
      rows_missing_for_sent: Math.max(0, records.length - newRows),
      answered_ids_without_row: ledger?.missingIds.length ?? null,
      ok_answers_without_final_row: okNotFinal.length,
      states_total: ledger?.byState,
      queue,
    },
    quotas: {
      budget_counters: counters.length,
      leaked_reservations: leaked.map((c) => ({ key: c.key, reserved_nano_usd: c.used - c.settled })),
      ledger_cost_nano_usd: ledger?.costNanoUsd,
      budgets_settled_nano_usd: Object.fromEntries(counters.map((c) => [c.key, c.settled])),
      budgets_equal_ledger_cost: counters.length > 0 && counters.every((c) => String(c.settled) === ledger?.costNanoUsd),
    },
  };
  options.log(`  ${scenario.name}: ${result.requests.failed}/${result.requests.sent} failed ${JSON.stringify(statuses)}; in flight at fault ${inflightAtFault.length}, failed among them ${failedInflight.length}, failed sent after the fault ${failedAfter.length}; recovered ${result.recovery.time_to_recover_ms} ms after the fault (${result.recovery.after_component_back_ms} ms after the component was back); ledger +${newRows} rows for ${records.length}, ok without final ${okNotFinal.length}; leaked ${leaked.length}; budgets = ledger: ${result.quotas.budgets_equal_ledger_cost}`);
  return result;
}

export interface ChaosOptions {
  rps: number;
  seconds: number;
  faultAfterSeconds: number;
  only?: string[];
  log?: (line: string) => void;
}

export async function runChaos(options: ChaosOptions) {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-chaos-'));
  const rig = await startRig({ projectRoot, dir, tollgates: 2, redisAof: true, upstreamTimeoutMs: 5000, orphanTimeoutMs: ORPHAN_TIMEOUT_MS });
  log(`chaos: ${options.seconds} s per scenario at ${options.rps} RPS, fault after ${options.faultAfterSeconds} s (dir ${dir})`);
  const results = [];
  try {
    let seed = 1;
    for (const scenario of SCENARIOS) {
      if (options.only && !options.only.some((o) => scenario.name.includes(o))) continue;
      results.push(await runScenario(rig, scenario, { ...options, log, seed: seed++ }));
      await sleep(1000);
    }
    return { dir, config: { store: 'redis (AOF, appendfsync always)', ledger: 'postgres via the Redis Stream', tollgate_processes: 2, orphan_timeout_ms: ORPHAN_TIMEOUT_MS, upstream_timeout_ms: 5000, quotas_on_store_failure: 'closed', failure_mode_allow: false }, scenarios: results };
  } finally {
    await rig.stop();
    if (!process.env.CHAOS_KEEP_DIR) await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rps = Number(process.env.CHAOS_RPS ?? 80);
  const seconds = Number(process.env.CHAOS_SECONDS ?? 20);
  const only = process.env.CHAOS_ONLY ? process.env.CHAOS_ONLY.split(',') : undefined;
  const result = await runChaos({ rps, seconds, faultAfterSeconds: 6, ...(only ? { only } : {}) });
  const out = {
    date: new Date().toISOString(), ...result, machine: machineInfo(), versions: versions(projectRoot), command: commandLine(projectRoot),
    note: 'The machine (2 cores) is shared with other engineers\' test runs: times are noisy; request and record counts are exact.',
  };
  const path = process.env.CHAOS_OUT ?? join(projectRoot, 'test/bench/results/chaos.json');
  await mkdir(resolve(path, '..'), { recursive: true });
  await writeFile(path, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`wrote ${path}\n`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
