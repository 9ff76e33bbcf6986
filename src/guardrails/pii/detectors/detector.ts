import type { PiiType } from '../types.ts';

/** Where a value sits in a text: [start, end) in JavaScript string indices. */
export type Range = [start: number, end: number];

/** One recogniser: finds the values of one kind in a text. */
export interface Detector {
  type: PiiType;
  /** Documentation and tests name detectors; values never leave the process. */
  name: string;
  /** A substring every value contains: texts without it skip the detector at memchr speed. */
  requires?: string;
  /** A cheap non-global test every text with a value passes (a label word), for detectors whose own scan is dear. */
  prefilter?: RegExp;
  /**
   * Appends the values found to `into`. An out-array rather than a generator: a generator object per detector per text
   * was most of the guardrail's garbage (~9 KiB per request, issue 11); this way a text without values allocates nothing.
   */
  find(text: string, into: Range[]): void;
}

/**
 * What a pattern's check says about one candidate: false drops it, true keeps the whole match, a Range keeps part of
 * it (a value inside its label, an IBAN that ran into the next word).
 */
export type Verdict = boolean | Range;

export interface PatternDetector {
  type: PiiType;
  name: string;
  requires?: string;
  /** Global; named group `v` (with the `d` flag) narrows the value inside a match that includes its label. */
  pattern: RegExp;
  check?: (value: string, text: string, start: number) => Verdict;
}

/** A detector from a global regex and an optional check on each candidate. */
export function patternDetector(spec: PatternDetector): Detector {
  const { pattern, check } = spec;
  if (!pattern.global) throw new Error(`detector ${spec.name}: the pattern must be global`);
  return {
    type: spec.type,
    name: spec.name,
    requires: spec.requires,
    find(text: string, into: Range[]): void {
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
        const group = match.indices?.groups?.v;
        const [start, end] = group ?? [match.index, match.index + match[0].length];
        const value = text.slice(start, end);
        const verdict = check ? check(value, text, start) : true;
        if (verdict === true) into.push([start, end]);
        else if (verdict !== false) into.push([start + verdict[0], start + verdict[1]]);
        if (match[0].length === 0) pattern.lastIndex += 1;
      }
    },
  };
}

export const digitsOf = (text: string) => text.replace(/\D/g, '');
