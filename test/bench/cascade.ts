/**
 * Cascade (issue 16): the cost saved and the quality kept on a fake workload, through real Envoy + Tollgate.
 *
 * Workload: BENCH_REQUESTS chat requests, a share BENCH_HARD_SHARE (30 %) of them "hard" (prompts starting with
 * "Prove"). The small model (gpt-4o-mini on its own fake) refuses the hard ones ("I'm sorry, but I can't help with
 * that."), the big one (gpt-4o) answers everything. The same requests go to three models in the same run:
 *   small only   gpt-4o-mini: cheapest, refuses the hard share
 *   big only     gpt-4o: every answer good, the most expensive
 *   cascade      gpt-4o-mini, escalating refusals to gpt-4o (cascade.escalate_on: [refusal])
 * Cost: the usage ledger's cost of each request (list prices of config/pricing.yaml; an escalated step's tokens are
 * in it). Quality: the share of answers delivered to the client that are not refusals.
 *
 *   node_modules/.bin/node test/bench/cascade.ts      → test/bench/results/cascade.json
 *
 * Env: BENCH_REQUESTS=200, BENCH_HARD_SHARE=0.3, BENCH_OUT=FILE. Sequential requests (not a load test).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { UsageRecord } from '../../src/ledger/usage-record.ts';
import { startFakeOpenAI } from '../fakes/openai-provider.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { summarize } from './lib/percentiles.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const HARD_SHARE = Number(process.env.BENCH_HARD_SHARE ?? 0.3);
const OUT = process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/cascade.json');
const REFUSAL = /^I'm sorry/;

/** The workload: the same prompts for every model, every 1/HARD_SHARE-th one hard (deterministic). */
const prompts = Array.from({ length: REQUESTS }, (_, i) => (Math.floor((i + 1) * HARD_SHARE) > Math.floor(i * HARD_SHARE)
  ? `Prove that the sum of the first ${i + 1} odd numbers is a perfect square, step by step.`
  : `Summarise item ${i + 1} of the shopping list in one short sentence.`));

async function recordOf(h: Harness, requestId: string): Promise<UsageRecord> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const record = await h.tollgate.ledger?.sink.get(requestId);
    if (record?.state === 'final') return record;
    if (Date.now() > deadline) throw new Error(`no final ledger record for ${requestId}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-cascade-'));
  const small = await startFakeOpenAI({ apiKey: PROVIDER_KEY, recordBodies: false, refuseWhen: (text) => text.startsWith('Prove') });
  const config = testConfig();
  config.providers = {
    big: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
    small: { type: 'openai', base_url: small.url, api_key_env: 'TEST_OPENAI_KEY' },
  };
  config.models = {
    'small-only': { provider: 'small', upstream_model: 'gpt-4o-mini', kind: 'chat' },
    'big-only': { provider: 'big', upstream_model: 'gpt-4o', kind: 'chat' },
    cascade: { kind: 'chat', targets: [{ provider: 'small', model: 'gpt-4o-mini' }, { provider: 'big', model: 'gpt-4o' }], cascade: { escalate_on: ['refusal'] } },
  };
  config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
  config.ledger = { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 10 };
  const h = await startHarness({ config, fake: { recordBodies: false } });
  const results = [];
  try {
    for (const model of ['small-only', 'big-only', 'cascade']) {
      let nanoUsd = 0n;
      let good = 0;
      let escalated = 0;
      const latencies: number[] = [];
      for (const prompt of prompts) {
        const started = performance.now();
        const response = await fetch(`${h.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 200 }),
        });
        const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }> };
        latencies.push(performance.now() - started);
        if (response.status !== 200) throw new Error(`${model}: status ${response.status}`);
        const content = body.choices?.[0]?.message?.content ?? '';
        if (!REFUSAL.test(content)) good++;
        const record = await recordOf(h, response.headers.get('x-tollgate-request-id') as string);
        nanoUsd += record.costNanoUsd ?? 0n;
        if (record.attempts.some((a) => a.escalated)) escalated++;
      }
      const latency = summarize(Float64Array.from(latencies));
      const row = {
        model, requests: REQUESTS, cost_usd: Number(nanoUsd) / 1e9, good_answers: good, quality: good / REQUESTS, escalated,
        latency_ms: { p50: round(latency.p50), p99: round(latency.p99) },
      };
      results.push(row);
      console.log(`${model.padEnd(11)} cost $${row.cost_usd.toFixed(6)}  quality ${(row.quality * 100).toFixed(1)} %  escalated ${escalated}  p50 ${row.latency_ms.p50} ms`);
    }
  } finally {
    await h.stop();
    await small.close();
    await rm(dir, { recursive: true, force: true });
  }
  const [smallOnly, bigOnly, cascade] = results as [typeof results[0], typeof results[0], typeof results[0]];
  const report = {
    benchmark: 'cascade',
    date: new Date().toISOString(),
    command: commandLine(projectRoot),
    machine: machineInfo(),
    versions: versions(projectRoot),
    workload: { requests: REQUESTS, hard_share: HARD_SHARE, small_model: 'gpt-4o-mini (refuses the hard prompts)', big_model: 'gpt-4o (answers all)', max_tokens: 200 },
    what: 'the same prompts sent one at a time to each model through real Envoy + Tollgate with fake providers; cost from the usage ledger (escalated steps included), quality = share of delivered answers that are not refusals',
    models: results,
    cost_saved_vs_big: round4(1 - cascade.cost_usd / bigOnly.cost_usd),
    quality_kept_vs_big: round4(cascade.quality / bigOnly.quality),
    quality_of_small_alone: round4(smallOnly.quality),
    note: 'fake workload: the fakes echo the prompt, so tokens (and cost) follow prompt length; a real small model fails in less predictable ways, and a refusal is only one of the signals (json_schema is the other)',
  };
  await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`cost saved vs big: ${(report.cost_saved_vs_big * 100).toFixed(1)} %, quality kept: ${(report.quality_kept_vs_big * 100).toFixed(1)} %`);
  console.log(`wrote ${OUT}`);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

await main();
