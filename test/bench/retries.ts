/**
 * Retry benchmark (issue 16): how long same-provider retries and their back-off take through real Envoy + Tollgate,
 * against the strict fake's injected faults, and how many attempts each scenario makes.
 *
 * One harness (test/helpers/gateway-harness.ts: Envoy, Tollgate, the fake OpenAI provider and a backup fake), the
 * default retry settings (2 retries, back-off base 50 ms / max 1 s, full jitter, Retry-After honoured up to 5 s).
 * Each scenario sends REQUESTS sequential non-streamed requests; before each, the fault is queued for exactly the
 * attempts it should fail. Reported per scenario: attempts (x-tollgate-attempts), status, latency p50/p90/max, and
 * the p50 added over the no-fault baseline, next to what the back-off alone predicts (its mean: retry n waits
 * uniform(0, (2^n − 1) × base), so 25 ms for the first retry, 75 ms for the second, 175 for the third; a Retry-After
 * of s seconds: uniform(s, 1.5 × s), Envoy's jittered lower bound).
 *
 *   node_modules/.bin/node test/bench/retries.ts     → test/bench/results/retries.json
 *
 * Env: BENCH_REQUESTS=40 (per scenario; the Retry-After scenarios use a quarter of it), BENCH_OUT=FILE
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startFakeOpenAI } from '../fakes/openai-provider.ts';
import type { FakeFault } from '../fakes/shared/faults.ts';
import { freePort } from '../helpers/free-port.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig } from '../helpers/gateway-harness.ts';
import { summarize } from './lib/percentiles.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40);
const OUT = process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/retries.json');

interface Scenario {
  name: string;
  model: string;
  /** Faults queued on the primary (and on the backup) before each request, in order. */
  primary: FakeFault[];
  backup?: FakeFault[];
  requests: number;
  /** What the back-off alone adds on average (ms), for comparison. */
  expectedWaitMs: number;
  note: string;
}

const status = (code: number, retryAfterSeconds?: number): FakeFault => ({ kind: 'status', status: code, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });

async function main(): Promise<void> {
  const backup = await startFakeOpenAI({ apiKey: PROVIDER_KEY, recordBodies: false });
  const dead = await freePort();
  const config = testConfig();
  config.providers = {
    primary: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
    backup: { type: 'openai', base_url: backup.url, api_key_env: 'TEST_OPENAI_KEY' },
    dead: { type: 'openai', base_url: `http://127.0.0.1:${dead}/v1`, api_key_env: 'TEST_OPENAI_KEY' },
  };
  config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
  config.models = {
    solo: { provider: 'primary', upstream_model: 'gpt-4o-mini', kind: 'chat' },
    unreachable: { provider: 'dead', upstream_model: 'gpt-4o-mini', kind: 'chat' },
    chain: { kind: 'chat', targets: [{ provider: 'primary', model: 'gpt-4o' }, { provider: 'backup', model: 'gpt-4o-mini' }] },
  };
  // Failing attempts must not eject the endpoints in the middle of the run.
  config.routing = { outlier: { consecutive_failures: 1000 } };
  const h = await startHarness({ config, fake: { recordBodies: false } });
  const scenarios: Scenario[] = [
    { name: 'no fault', model: 'solo', primary: [], requests: REQUESTS, expectedWaitMs: 0, note: 'baseline' },
    { name: '503 once', model: 'solo', primary: [status(503)], requests: REQUESTS, expectedWaitMs: 25, note: '1 retry' },
    { name: '500 twice', model: 'solo', primary: [status(500), status(500)], requests: REQUESTS, expectedWaitMs: 100, note: '2 retries' },
    { name: 'reset once', model: 'solo', primary: [{ kind: 'reset' }], requests: REQUESTS, expectedWaitMs: 25, note: 'connection closed before an answer' },
    { name: '429 once', model: 'solo', primary: [status(429)], requests: REQUESTS, expectedWaitMs: 25, note: 'no Retry-After' },
    { name: '429 Retry-After 1 s once', model: 'solo', primary: [status(429, 1)], requests: Math.max(4, REQUESTS / 4), expectedWaitMs: 1250, note: 'Retry-After within the 5 s cap: Envoy waits between 1 and 1.5 × its value' },
    { name: '429 Retry-After 30 s once', model: 'solo', primary: [status(429, 30)], requests: Math.max(4, REQUESTS / 4), expectedWaitMs: 25, note: 'over the cap: ignored, back-off instead' },
    { name: '503 always (budget exhausted)', model: 'solo', primary: [status(503), status(503), status(503)], requests: REQUESTS, expectedWaitMs: 100, note: 'client gets the 503 after 3 attempts' },
    { name: 'connect failure (nothing listens)', model: 'unreachable', primary: [], requests: REQUESTS, expectedWaitMs: 100, note: '3 refused connections, then 503' },
    { name: 'chain: primary 503 ×3 → backup', model: 'chain', primary: [status(503), status(503), status(503)], requests: REQUESTS, expectedWaitMs: 275, note: 'primary 1 + 2 retries, then the backup (the 3rd retry waits uniform(0, 7 × base))' },
    { name: 'chain: primary 429 Retry-After 1 s ×3 → backup', model: 'chain', primary: [status(429, 1), status(429, 1), status(429, 1)], requests: Math.max(4, REQUESTS / 4), expectedWaitMs: 2500 + 175, note: 'waits 1 s twice on the primary; its last Retry-After is dropped before the fallback' },
  ];

  const results = [];
  try {
    // Warm-up: connections and JIT.
    for (let i = 0; i < 20; i++) await send(h.baseUrl, h.key, 'solo');
    let baselineP50 = 0;
    for (const scenario of scenarios) {
      const latencies: number[] = [];
      const attempts = new Map<string, number>();
      const statuses = new Map<number, number>();
      for (let i = 0; i < scenario.requests; i++) {
        h.fake.clearFaults();
        backup.clearFaults();
        for (const fault of scenario.primary) h.fake.pushFault(fault);
        for (const fault of scenario.backup ?? []) backup.pushFault(fault);
        const outcome = await send(h.baseUrl, h.key, scenario.model);
        latencies.push(outcome.ms);
        attempts.set(outcome.attempts, (attempts.get(outcome.attempts) ?? 0) + 1);
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      }
      const summary = summarize(latencies);
      if (scenario.name === 'no fault') baselineP50 = summary.p50;
      const row = {
        scenario: scenario.name,
        model: scenario.model,
        note: scenario.note,
        requests: scenario.requests,
        attempts: Object.fromEntries(attempts),
        statuses: Object.fromEntries(statuses),
        latency_ms: { p50: round(summary.p50), p90: round(summary.p90), max: round(summary.max) },
        added_p50_ms: round(summary.p50 - baselineP50),
        back_off_mean_ms: scenario.expectedWaitMs,
      };
      results.push(row);
      console.log(`${scenario.name.padEnd(48)} attempts ${JSON.stringify(row.attempts).padEnd(10)} status ${JSON.stringify(row.statuses).padEnd(10)} p50 ${row.latency_ms.p50} ms, p90 ${row.latency_ms.p90}, max ${row.latency_ms.max}; +${row.added_p50_ms} (back-off mean ${scenario.expectedWaitMs})`);
    }
  } finally {
    await h.stop();
    await backup.close();
  }
  const report = {
    benchmark: 'retries',
    date: new Date().toISOString(),
    command: commandLine(projectRoot),
    machine: machineInfo(),
    versions: versions(projectRoot),
    settings: { retries: 2, base_interval_ms: 50, max_interval_ms: 1000, retry_after_max_ms: 5000, requests_per_scenario: REQUESTS },
    scenarios: results,
  };
  await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${OUT}`);
}

async function send(baseUrl: string, key: string, model: string): Promise<{ ms: number; status: number; attempts: string }> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello retry bench' }] }),
  });
  await response.arrayBuffer();
  return { ms: performance.now() - started, status: response.status, attempts: response.headers.get('x-tollgate-attempts') ?? '?' };
}

const round = (value: number) => Math.round(value * 100) / 100;

await main();
