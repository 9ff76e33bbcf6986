/**
 * Scoring a PII detector against a labelled set: every occurrence of a labelled value is a gold span; a gold span is
 * found when a predicted span of its type covers it; a predicted span is right when it overlaps a gold span of its
 * type. Per type: precision, recall; per set: the share of PII-free texts that get any finding.
 */

export interface LabelledText {
  id: string;
  lang: string;
  format?: string;
  text: string;
  pii: Array<{ type: string; value: string }>;
  negative_kinds?: string[];
}

export interface Span {
  type: string;
  start: number;
  end: number;
}

/** Every occurrence of every labelled value. */
export function goldSpans(item: LabelledText): Span[] {
  const spans: Span[] = [];
  for (const { type, value } of item.pii) {
    if (!value) continue;
    for (let at = item.text.indexOf(value); at >= 0; at = item.text.indexOf(value, at + value.length)) {
      spans.push({ type, start: at, end: at + value.length });
    }
  }
  return spans;
}

export interface TypeCounts {
  gold: number;
  found: number;
  predicted: number;
  correct: number;
}

export interface Score {
  texts: number;
  by_type: Record<string, TypeCounts & { precision: number | null; recall: number | null }>;
  pii_free_texts: number;
  pii_free_flagged: number;
  pii_free_flagged_rate: number | null;
  /** Wrong findings and missed values, with the labels (no offsets needed to read them). */
  errors: Array<{ id: string; kind: 'missed' | 'wrong'; type: string; value: string }>;
}

const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end;
const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1000) / 1000);

/** `types` limits the scoring to the kinds the detector under test claims (the others are neither found nor wrong). */
export function score(items: LabelledText[], predict: (text: string) => Span[], types: readonly string[]): Score {
  const counts: Record<string, TypeCounts> = Object.fromEntries(types.map((type) => [type, { gold: 0, found: 0, predicted: 0, correct: 0 }]));
  const errors: Score['errors'] = [];
  let piiFree = 0;
  let piiFreeFlagged = 0;
  for (const item of items) {
    const gold = goldSpans(item).filter((span) => types.includes(span.type));
    const predicted = predict(item.text).filter((span) => types.includes(span.type));
    for (const span of gold) {
      const tally = counts[span.type]!;
      tally.gold += 1;
      if (predicted.some((p) => p.type === span.type && p.start <= span.start && p.end >= span.end)) tally.found += 1;
      else errors.push({ id: item.id, kind: 'missed', type: span.type, value: item.text.slice(span.start, span.end) });
    }
    for (const span of predicted) {
      const tally = counts[span.type]!;
      tally.predicted += 1;
      if (gold.some((g) => g.type === span.type && overlaps(g, span))) tally.correct += 1;
      else errors.push({ id: item.id, kind: 'wrong', type: span.type, value: item.text.slice(span.start, span.end) });
    }
    if (item.pii.length === 0) {
      piiFree += 1;
      if (predicted.length > 0) piiFreeFlagged += 1;
    }
  }
  const byType: Score['by_type'] = {};
  for (const [type, tally] of Object.entries(counts)) {
    byType[type] = { ...tally, precision: ratio(tally.correct, tally.predicted), recall: ratio(tally.found, tally.gold) };
  }
  return { texts: items.length, by_type: byType, pii_free_texts: piiFree, pii_free_flagged: piiFreeFlagged, pii_free_flagged_rate: ratio(piiFreeFlagged, piiFree), errors };
}

/** Pooled precision and recall over several types. */
export function pooled(result: Score, types: readonly string[]): { precision: number | null; recall: number | null } {
  let gold = 0, found = 0, predicted = 0, correct = 0;
  for (const type of types) {
    const tally = result.by_type[type];
    if (!tally) continue;
    gold += tally.gold; found += tally.found; predicted += tally.predicted; correct += tally.correct;
  }
  return { precision: ratio(correct, predicted), recall: ratio(found, gold) };
}
