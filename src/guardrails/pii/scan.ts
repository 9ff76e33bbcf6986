import { DETECTORS, type Detector } from './detectors/index.ts';
import type { Range } from './detectors/detector.ts';
import type { PlaceholderVault } from './placeholder-vault.ts';
import { NO_PII, redactionMask, type PiiFindings, type PiiType } from './types.ts';

/** Where a value sits in one text (offsets only; the caller decides whether to count or mask it). */
export interface PiiSpan {
  type: PiiType;
  start: number;
  end: number;
}

/**
 * Every value in a text, without overlaps: a detector earlier in the list wins over a later one. Callers that want
 * some types only filter the result, so overlaps resolve the same way whatever they watch.
 */
/** Reused by every call (findPii is synchronous), so a text without values allocates no array per detector. */
const FOUND: Range[] = [];

export function findPii(text: string, detectors: readonly Detector[] = DETECTORS): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (const detector of detectors) {
    if (detector.requires && !text.includes(detector.requires)) continue;
    if (detector.prefilter && !detector.prefilter.test(text)) continue;
    const found = FOUND;
    found.length = 0;
    detector.find(text, found);
    for (const [start, end] of found) {
      if (end <= start || spans.some((span) => start < span.end && end > span.start)) continue;
      spans.push({ type: detector.type, start, end });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

/** Adds a text's findings to a running count. */
export function countPii(text: string, into: Record<string, number>): number {
  let found = 0;
  for (const span of findPii(text)) {
    into[span.type] = (into[span.type] ?? 0) + 1;
    found += 1;
  }
  return found;
}

/** Findings over several texts: types and counts only. */
export function detectPii(texts: Iterable<string>): PiiFindings {
  const types: Record<string, number> = {};
  let total = 0;
  for (const text of texts) total += countPii(text, types);
  return total === 0 ? NO_PII : { total, types };
}

/**
 * The text with every value of the given types replaced by its mask, or by a numbered placeholder from `vault` when
 * the redaction is reversible; the same text when nothing matched. `extra` adds spans found elsewhere (Presidio).
 */
export function redactPii(text: string, types: ReadonlySet<PiiType>, vault?: PlaceholderVault, extra?: readonly PiiSpan[]): string {
  let out = '';
  let last = 0;
  // `extra`: values an external detector found, already clear of the built-in spans.
  const spans = extra?.length ? [...findPii(text), ...extra].sort((a, b) => a.start - b.start) : findPii(text);
  for (const span of spans) {
    if (!types.has(span.type)) continue;
    const mask = vault ? vault.placeholderFor(span.type, text.slice(span.start, span.end)) : redactionMask(span.type);
    out += text.slice(last, span.start) + mask;
    last = span.end;
  }
  return last === 0 ? text : out + text.slice(last);
}
