/**
 * Quality of the semantic cache: on test/bench/data/paraphrases.jsonl (true paraphrases and near-misses that must
 * not hit: other numbers, negation, another entity, another language), with the real all-MiniLM-L6-v2 model.
 *
 *   node_modules/.bin/node test/bench/semantic-cache.ts     → test/bench/results/semantic-cache-older-sets.json
 *
 * A pair "hits" when the cosine similarity of its two questions reaches the threshold AND Tollgate's near-miss
 * checks (src/cache/near-miss.ts) let it through: exactly the decision the cache makes. The set is split by kind
 * into two halves (alternate pairs); the threshold is chosen on the tuning half (the highest hit rate with at most
 * 1 % false hits there; ties go to the higher threshold) and the figures are measured on the held-out half only.
 * The same figures without the checks (cosine alone) show what the checks add.
 *
 * The checks themselves were written while looking at that whole set, so the held-out half only keeps the
 * threshold honest. test/bench/data/paraphrases-blind.jsonl is a second set (200 pairs), written afterwards by someone
 * who saw neither the checks nor the first set. Its even lines were used once to revise the checks (the "same frame"
 * rule: entity and negation differences only count when the wordings keep the same frame); its odd lines were not
 * looked at before the checks were frozen: the figures on them are the independent measure.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { normalize } from '../../src/cache/embeddings-client.ts';
import { nearMissReason, textFeatures } from '../../src/cache/near-miss.ts';
import { EMBEDDING_MODEL, startEmbeddingServer } from '../helpers/embedding-server.ts';

interface Pair {
  a: string;
  b: string;
  label: 'paraphrase' | 'near_miss';
  kind: string;
}

interface Scored extends Pair {
  similarity: number;
  blockedBy: string | null;
}

const root = resolve(import.meta.dirname, '../..');
const readPairs = (file: string) => readFileSync(resolve(root, 'test/bench/data', file), 'utf8')
  .split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line) as Pair);
const pairs = readPairs('paraphrases.jsonl');
const blindPairs = readPairs('paraphrases-blind.jsonl');

async function embedAll(url: string, texts: string[]): Promise<Map<string, Float32Array>> {
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < texts.length; i += 32) {
    const batch = texts.slice(i, i + 32);
    const response = await fetch(`${url}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: EMBEDDING_MODEL, input: batch }),
    });
    if (!response.ok) throw new Error(`embeddings: ${response.status} ${await response.text()}`);
    const parsed = (await response.json()) as { data: Array<{ index: number; embedding: number[] }> };
    for (const item of parsed.data) vectors.set(batch[item.index] as string, normalize(Float32Array.from(item.embedding)));
  }
  return vectors;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * (b[i] as number), 0);

function rates(set: Scored[], threshold: number, withChecks: boolean) {
  const hits = (p: Scored) => p.similarity >= threshold && (!withChecks || p.blockedBy === null);
  const positives = set.filter((p) => p.label === 'paraphrase');
  const negatives = set.filter((p) => p.label === 'near_miss');
  return {
    hitRate: positives.filter(hits).length / positives.length,
    falseHitRate: negatives.filter(hits).length / negatives.length,
    falseHitsByKind: Object.fromEntries([...new Set(negatives.map((p) => p.kind))].map((kind) =>
      [kind, negatives.filter((p) => p.kind === kind && hits(p)).length])),
  };
}

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const server = await startEmbeddingServer();
  try {
    const texts = [...new Set([...pairs, ...blindPairs].flatMap((p) => [p.a, p.b]))];
    const started = performance.now();
    const vectors = await embedAll(server.url, texts);
    const embedMs = (performance.now() - started) / texts.length;
    const score = (p: Pair): Scored => ({
      ...p,
      similarity: dot(vectors.get(p.a) as Float32Array, vectors.get(p.b) as Float32Array),
      blockedBy: nearMissReason(textFeatures(p.a), textFeatures(p.b)),
    });
    const scored = pairs.map(score);
    const blind = blindPairs.map(score);
    // Alternate pairs of each kind go to tuning and held-out, so both halves hold every kind of near-miss.
    const seen = new Map<string, number>();
    const tuning: Scored[] = [];
    const heldOut: Scored[] = [];
    for (const p of scored) {
      const n = seen.get(p.kind) ?? 0;
      seen.set(p.kind, n + 1);
      (n % 2 === 0 ? tuning : heldOut).push(p);
    }
    let threshold = 1;
    let best = -1;
    for (let t = 0.5; t <= 0.99 + 1e-9; t += 0.01) {
      const r = rates(tuning, t, true);
      if (r.falseHitRate <= 0.01 && r.hitRate >= best) {
        best = r.hitRate;
        threshold = round(t, 2);
      }
    }
    const held = rates(heldOut, threshold, true);
    const cosineOnly = rates(heldOut, threshold, false);
    const tuned = rates(tuning, threshold, true);
    const count = (set: Scored[], label: Pair['label']) => set.filter((p) => p.label === label).length;
    const blockedTruePairs = heldOut.filter((p) => p.label === 'paraphrase' && p.blockedBy !== null);
    const blindRates = rates(blind, threshold, true);
    const blindCosine = rates(blind, threshold, false);
    const blindHalf = (parity: number) => {
      const half = blind.filter((_, i) => i % 2 === parity);
      const r = rates(half, threshold, true);
      return {
        pairs: half.length, true_pairs: count(half, 'paraphrase'), near_miss_pairs: count(half, 'near_miss'),
        hit_rate: round(r.hitRate), false_hit_rate: round(r.falseHitRate), false_hits_by_kind: r.falseHitsByKind,
      };
    };
    const result = {
      model: EMBEDDING_MODEL,
      threshold,
      pairs: heldOut.length,
      true_pairs: count(heldOut, 'paraphrase'),
      near_miss_pairs: count(heldOut, 'near_miss'),
      hit_rate: round(held.hitRate),
      false_hit_rate: round(held.falseHitRate),
      note: 'pairs, true_pairs, near_miss_pairs, hit_rate and false_hit_rate are the held-out half; the threshold was chosen on the other half',
      checks: [
        'same numbers (digits and number words)', 'same negation', 'same named entities (capitalised words, quoted text)',
        'no swapped topic word (same frame, a content word swapped or added)', 'same language (script, function words)',
      ],
      check_design: 'the checks are fixed rules written while looking at the whole set; only the threshold is fitted, on the tuning half',
      whole_set: { pairs: scored.length, true_pairs: count(scored, 'paraphrase'), near_miss_pairs: count(scored, 'near_miss') },
      tuning: { pairs: tuning.length, hit_rate: round(tuned.hitRate), false_hit_rate: round(tuned.falseHitRate) },
      held_out_false_hits_by_kind: held.falseHitsByKind,
      blind_set: {
        note: 'written by someone who saw neither the checks nor the first set; same threshold; even lines revised the checks once, odd lines untouched',
        untouched_half: blindHalf(1),
        development_half: blindHalf(0),
        pairs: blind.length,
        true_pairs: count(blind, 'paraphrase'),
        near_miss_pairs: count(blind, 'near_miss'),
        hit_rate: round(blindRates.hitRate),
        false_hit_rate: round(blindRates.falseHitRate),
        false_hits_by_kind: blindRates.falseHitsByKind,
        true_pairs_blocked_by_checks: blind.filter((p) => p.label === 'paraphrase' && p.blockedBy !== null).length,
        cosine_only: { hit_rate: round(blindCosine.hitRate), false_hit_rate: round(blindCosine.falseHitRate) },
      },
      held_out_true_pairs_blocked_by_checks: blockedTruePairs.length,
      cosine_only_at_threshold: {
        hit_rate: round(cosineOnly.hitRate), false_hit_rate: round(cosineOnly.falseHitRate), false_hits_by_kind: cosineOnly.falseHitsByKind,
      },
      embedding_ms_per_text: round(embedMs, 2),
      measured_at: new Date().toISOString(),
    };
    mkdirSync(resolve(root, 'test/bench/results'), { recursive: true });
    const out = process.env.BENCH_OUT ?? resolve(root, 'test/bench/results/semantic-cache-older-sets.json');
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (process.env.BENCH_VERBOSE) {
      for (const p of [...scored, ...blind].sort((x, y) => y.similarity - x.similarity)) {
        process.stdout.write(`${p.similarity.toFixed(3)} ${p.label} ${p.kind} ${p.blockedBy ?? '-'} | ${p.a} | ${p.b}\n`);
      }
    }
  } finally {
    await server.stop();
  }
}

await main();
