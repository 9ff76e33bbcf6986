/**
 * Quality and latency of the prompt-injection classifier (the prompt_injection guardrail, `tollgate injection-scan`)
 * on test/bench/data/injection-labelled.jsonl (454 prompts written blind: attacks direct, indirect, role-play,
 * encoded, Vietnamese; hard negatives).
 *
 *   node_modules/.bin/node test/bench/injection.ts   → test/bench/results/injection.json
 *
 * The set was split once, before any training, by SHA-256 of each id (first byte < 128 → tuning): the head
 * (sidecars/minilm/injection-head.json) was trained and its threshold chosen on the tuning half only
 * (scripts/train-injection-head); every figure here is on the held-out half. Each text is scored by one call to the
 * model sidecar through the gateway's own client (scoreInjection) and decided as the gateway decides (injectionCheck).
 * Latency: the sidecar warm, one call per text as in the gateway, a 256-token prompt, p50 and p99 of 200 calls; and
 * the scoring in process (test/bench/injection_latency.py), wall and CPU time, since this machine is shared.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { injectionCheck, scoreInjection } from '../../src/guardrails/external/prompt-injection.ts';
import { startModelSidecar } from '../../src/guardrails/model-sidecar.ts';
import { commandLine, machineInfo } from './lib/run-info.ts';
import { summarize } from './lib/percentiles.ts';

const root = resolve(import.meta.dirname, '../..');
const DATA = 'test/bench/data/injection-labelled.jsonl';

interface Item { id: string; label: 'attack' | 'benign'; kind: string; lang: string; source: string; text: string }

const items = readFileSync(resolve(root, DATA), 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line) as Item);
const isTuning = (id: string) => createHash('sha256').update(id).digest()[0]! < 128;
const heldOut = items.filter((item) => !isTuning(item.id));

const round = (x: number) => Math.round(x * 1000) / 1000;

function prf(rows: Array<{ attack: boolean; flagged: boolean }>) {
  const tp = rows.filter((r) => r.attack && r.flagged).length;
  const fp = rows.filter((r) => !r.attack && r.flagged).length;
  const fn = rows.filter((r) => r.attack && !r.flagged).length;
  const precision = tp + fp ? tp / (tp + fp) : null;
  const recall = tp + fn ? tp / (tp + fn) : null;
  const f1 = precision !== null && recall !== null && precision + recall ? (2 * precision * recall) / (precision + recall) : null;
  return {
    prompts: rows.length, attacks: tp + fn, benign: rows.length - tp - fn, true_positives: tp, false_positives: fp, false_negatives: fn,
    precision: precision === null ? null : round(precision), recall: recall === null ? null : round(recall), f1: f1 === null ? null : round(f1),
  };
}

const loadAtStart = Math.round(os.loadavg()[0]! * 100) / 100;
const sidecar = await startModelSidecar();
try {
  const url = sidecar.url;
  const scored: Array<Item & { score: number; flagged: boolean; attack: boolean }> = [];
  let threshold = 0;
  for (const item of heldOut) {
    const answer = await scoreInjection({ url }, null, [item.text], AbortSignal.timeout(10_000));
    threshold = answer.threshold;
    const check = injectionCheck(answer.scores, answer.threshold);
    scored.push({ ...item, score: answer.scores[0]!, flagged: check.flagged, attack: item.label === 'attack' });
  }
  const group = (key: (r: (typeof scored)[number]) => string) => {
    const out: Record<string, ReturnType<typeof prf>> = {};
    for (const name of [...new Set(scored.map(key))].sort()) out[name] = prf(scored.filter((r) => key(r) === name));
    return out;
  };
  // Every attack kind against all benign prompts: precision as if only that kind of attack existed.
  const benign = scored.filter((r) => !r.attack);
  const byAttackKind: Record<string, ReturnType<typeof prf>> = {};
  for (const kind of [...new Set(scored.filter((r) => r.attack).map((r) => r.kind))].sort()) {
    byAttackKind[kind] = prf([...scored.filter((r) => r.attack && r.kind === kind), ...benign]);
  }
  const benignKinds: Record<string, { prompts: number; flagged: number; flagged_rate: number }> = {};
  for (const kind of [...new Set(benign.map((r) => r.kind))].sort()) {
    const rows = benign.filter((r) => r.kind === kind);
    const flagged = rows.filter((r) => r.flagged).length;
    benignKinds[kind] = { prompts: rows.length, flagged, flagged_rate: round(flagged / rows.length) };
  }
  // The operating curve (information only: the threshold was fixed on the tuning half).
  const curve = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((t) => {
    const r = prf(scored.map((s) => ({ attack: s.attack, flagged: s.score >= t })));
    return { threshold: t, precision: r.precision, recall: r.recall, f1: r.f1 };
  });

  // Latency: a 256-token prompt (MiniLM's tokenizer), warm sidecar, one text per call, as the gateway calls it.
  const python = resolve(root, '.venv/bin/python');
  const inProcess = JSON.parse(execFileSync(python, [resolve(root, 'test/bench/injection_latency.py')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } }).trim().split('\n').at(-1)!) as {
    prompt: string; prompt_tokens: number; injection_score: Record<string, number>; full_minilm_embedding: Record<string, number>;
  };
  const prompt = inProcess.prompt;
  const tokens = inProcess.prompt_tokens;
  const time = async (call: () => Promise<unknown>, n: number) => {
    for (let i = 0; i < 20; i++) await call();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await call();
      ms.push(performance.now() - started);
    }
    const s = summarize(ms);
    return { calls: n, p50_ms: round(s.p50), p99_ms: round(s.p99) };
  };
  const injectionLatency = await time(() => scoreInjection({ url }, null, [prompt], AbortSignal.timeout(10_000)), 200);
  const embedShort = () => fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'all-MiniLM-L6-v2', input: 'Can you help me plan a three-day trip to Hanoi on a budget?' }) }).then((r) => r.json());
  const embeddingShortLatency = await time(embedShort, 100);

  const head = JSON.parse(readFileSync(resolve(root, 'sidecars/minilm/injection-head.json'), 'utf8')) as Record<string, unknown>;
  const overall = prf(scored);
  const result = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    versions: {
      node: process.version,
      python_packages: readFileSync(resolve(root, 'scripts/versions.env'), 'utf8').match(/EMBEDDING_PACKAGES="([^"]+)"/)?.[1] ?? 'unknown',
      head: head.version, features: head.features, trained_on: head.trained_on, cross_validation: head.cross_validation,
    },
    command: commandLine(root),
    data: DATA,
    split: 'sha256(id) first byte < 128 → tuning (training, threshold); figures on the rest',
    threshold,
    targets: { precision: 0.9, recall: 0.8, latency_p50_ms_256_tokens: 15 },
    held_out: overall,
    meets_targets: (overall.precision ?? 0) >= 0.9 && (overall.recall ?? 0) >= 0.8 && injectionLatency.p50_ms <= 15,
    by_attack_kind: byAttackKind,
    by_kind: group((r) => r.kind),
    benign_kinds_flagged: benignKinds,
    by_language: group((r) => r.lang),
    by_source: group((r) => r.source),
    curve_held_out: curve,
    latency: {
      prompt_tokens: tokens,
      injection_score_http: injectionLatency,
      injection_score_in_process: inProcess.injection_score,
      full_minilm_embedding_in_process: inProcess.full_minilm_embedding,
      full_minilm_embedding_http_12_words: embeddingShortLatency,
      load_average_1m_at_start: loadAtStart,
      note: 'http: wall time of one call to the warm sidecar as the gateway makes it; in_process: the scoring alone, wall and thread CPU time (CPU holds on a shared machine, wall time does not). The head reads MiniLM static token embeddings + rule features, not the 6 attention layers (full_minilm_embedding: what they would cost).',
    },
  };
  const out = resolve(root, 'test/bench/results/injection.json');
  mkdirSync(resolve(root, 'test/bench/results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`held-out: ${overall.prompts} prompts, threshold ${threshold}: precision ${overall.precision} recall ${overall.recall} f1 ${overall.f1}`);
  for (const [kind, r] of Object.entries(byAttackKind)) console.log(`  ${kind.padEnd(12)} recall ${r.recall} precision ${r.precision}`);
  for (const [lang, r] of Object.entries(result.by_language)) console.log(`  lang ${lang.padEnd(7)} precision ${r.precision} recall ${r.recall} f1 ${r.f1}`);
  console.log(`latency (${tokens} tokens): injection over HTTP p50 ${injectionLatency.p50_ms} ms p99 ${injectionLatency.p99_ms} ms; in process ${JSON.stringify(inProcess.injection_score)}; full MiniLM embedding ${JSON.stringify(inProcess.full_minilm_embedding)}`);
  console.log(`wrote ${out}`);
} finally {
  await sidecar.stop();
}
