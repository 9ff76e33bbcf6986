import { DETECTORS, type Detector } from './detectors.ts';
import { NO_PII, redactionMask, type PiiFindings, type PiiType } from './types.ts';

/** Where a value sits in one text (offsets only; the caller decides whether to count or mask it). */
export interface PiiSpan {
  type: PiiType;
  start: number;
  end: number;
}

/** Candidate matches of one detector: [start, text]. */
function* candidates(detector: Detector, text: string): Generator<[number, string]> {
  if (detector.requires && !text.includes(detector.requires)) return;
  const pattern = detector.pattern;
  if (typeof pattern === 'function') {
    for (const [start, end] of pattern(text)) yield [start, text.slice(start, end)];
    return;
  }
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) yield [match.index, match[0]];
}

/** Every value in a text, without overlaps: a detector earlier in DETECTORS wins over a later one. */
export function findPii(text: string, detectors: readonly Detector[] = DETECTORS): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (const detector of detectors) {
    for (const [found, value] of candidates(detector, text)) {
      const verdict = detector.check ? detector.check(value) : true;
      if (verdict === false) continue;
      // The email pattern matches from its @: the local part sits in a lookbehind.
      const start = detector.type === 'email' ? localPartStart(text, found) : found;
      const end = found + (verdict === true ? value.length : verdict);
      if (spans.some((span) => start < span.end && end > span.start)) continue;
      spans.push({ type: detector.type, start, end });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

const LOCAL_PART = /[A-Za-z0-9._%+-]/;

/** Where the local part of the email whose @ is at `at` begins (at most 64 characters back). */
function localPartStart(text: string, at: number): number {
  let start = at;
  while (start > 0 && at - start < 64 && LOCAL_PART.test(text[start - 1] as string)) start -= 1;
  return start;
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

/** The text with every value of the given types replaced by its mask; the same text when nothing matched. */
export function redactPii(text: string, types: ReadonlySet<PiiType>): string {
  let out = '';
  let last = 0;
  for (const span of findPii(text)) {
    if (!types.has(span.type)) continue;
    out += text.slice(last, span.start) + redactionMask(span.type);
    last = span.end;
  }
  return last === 0 ? text : out + text.slice(last);
}
