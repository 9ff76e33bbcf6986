import { entropyBitsPerChar, ibanValid, luhnValid } from './checksums.ts';
import type { PiiType } from './types.ts';

/**
 * One recogniser: a pattern that finds look-alikes and an optional check that keeps only the real ones. A check
 * may shorten the match (returns its true length) when the pattern could run into the following text.
 */
export interface Detector {
  type: PiiType;
  /** Documentation and tests name detectors; values never leave the process. */
  name: string;
  /** A global regex finding candidates, or a hand-written finder where a regex would be slow. */
  pattern: RegExp | ((text: string) => Array<[start: number, end: number]>);
  /** A substring every match contains: texts without it skip the detector at memchr speed. */
  requires?: string;
  check?: (match: string) => boolean | number;
}

const digitsOf = (text: string) => text.replace(/\D/g, '');

/** Issuer prefixes of payment cards (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|3[05689]|6(?:011|5|4[4-9]|2)|50|5[6-8])/;

/** IBAN length per country (ISO 13616 registry, the countries seen most); others must be 15–34 long. */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AT: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24,
  FI: 18, FR: 27, GB: 22, GR: 27, HR: 21, HU: 28, IE: 22, IL: 23, IS: 26, IT: 27, KW: 30, KZ: 20, LI: 21, LT: 20,
  LU: 20, LV: 21, MC: 27, MT: 31, NL: 18, NO: 15, PL: 28, PT: 25, QA: 29, RO: 24, SA: 24, SE: 24, SI: 19, SK: 24,
  SM: 27, TR: 26, UA: 29,
};

/** Keeps the IBAN's own length of a match that may have run into the next word; its end in the original text. */
function ibanLength(match: string): number | false {
  const compact = match.replace(/ /g, '');
  const expected = IBAN_LENGTHS[compact.slice(0, 2)];
  if (expected !== undefined && compact.length < expected) return false;
  const length = expected ?? compact.length;
  if (length < 15 || length > 34 || !ibanValid(compact.slice(0, length))) return false;
  let seen = 0;
  for (let i = 0; i < match.length; i += 1) {
    if (match[i] !== ' ') seen += 1;
    if (seen === length) return i + 1;
  }
  return false;
}

/** Province and city codes that open a Vietnamese citizen ID (CCCD), 001 Hà Nội … 096 Cà Mau. */
const VN_PROVINCE_CODES = new Set([
  '001', '002', '004', '006', '008', '010', '011', '012', '014', '015', '017', '019', '020', '022', '024', '025',
  '026', '027', '030', '031', '033', '034', '035', '036', '037', '038', '040', '042', '044', '045', '046', '048',
  '049', '051', '052', '054', '056', '058', '060', '062', '064', '066', '067', '068', '070', '072', '074', '075',
  '077', '079', '080', '082', '083', '084', '086', '087', '089', '091', '092', '093', '094', '095', '096',
]);

/**
 * Vietnamese numbers: mobile = 9 national digits with a network prefix in use (03x, 05x, 07x, 08x, 09x: Viettel,
 * Vinaphone, MobiFone, Vietnamobile, Gmobile…), landline = 10 national digits starting 2 (area codes 02x since 2017).
 */
const VN_MOBILE_PREFIX = /^(?:3[2-9]|5[2689]|7[06-9]|8[1-9]|9\d)/;

function vietnamesePhone(match: string): boolean {
  const digits = digitsOf(match);
  const national = digits.startsWith('0084') ? digits.slice(4) : digits.startsWith('84') ? digits.slice(2) : digits.slice(1);
  return (national.length === 9 && VN_MOBILE_PREFIX.test(national)) || (national.length === 10 && national.startsWith('2'));
}

/** E.164 allows at most 15 digits; fewer than 8 is a code or a count, not a phone number. */
const internationalPhone = (match: string) => {
  const length = digitsOf(match).length;
  return length >= 8 && length <= 15;
};

const TOKEN_CHARS = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-') TOKEN_CHARS[char.charCodeAt(0)] = 1;

/** Runs of token characters at least `min` long. A loop, because a regex here costs 3× more on long prompts. */
function tokenRuns(text: string, min: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= text.length; i += 1) {
    const code = i < text.length ? text.charCodeAt(i) : 0;
    if (code < 128 && TOKEN_CHARS[code] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= min) runs.push([start, i]);
      start = -1;
    }
  }
  return runs;
}

/** A random-looking token: long, letters and digits mixed, and dense in information (identifiers and words are not). */
function highEntropyToken(match: string): boolean {
  return /\d/.test(match) && /[a-z]/i.test(match) && entropyBitsPerChar(match) >= 4;
}

/**
 * Every recogniser, in priority order: where two overlap, the earlier wins (an API key containing digits is a secret,
 * not a phone number). Boundaries are explicit lookarounds so a value inside a longer token is not taken apart.
 */
export const DETECTORS: readonly Detector[] = [
  { type: 'secret', name: 'private key block', requires: '-----BEGIN', pattern: /-----BEGIN ((?:[A-Z]+ )*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g },
  { type: 'secret', name: 'OpenAI / Anthropic key (sk-…)', requires: 'sk-', pattern: /(?<![\w-])sk-(?:[a-z]+-){0,2}[A-Za-z0-9_-]{20,}/g },
  { type: 'secret', name: 'AWS access key id (AKIA…/ASIA…)', pattern: /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g },
  { type: 'secret', name: 'GitHub token (ghp_…, github_pat_…)', pattern: /(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251})(?!\w)/g },
  { type: 'secret', name: 'Slack token (xox…)', requires: 'xox', pattern: /(?<!\w)xox[abposr]-[A-Za-z0-9-]{10,}/g },
  { type: 'secret', name: 'Google API key (AIza…)', requires: 'AIza', pattern: /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g },
  { type: 'secret', name: 'JSON Web Token', requires: 'eyJ', pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  // Anchored at the @ (the local part is a lookbehind): 7× faster than scanning from every letter.
  { type: 'email', name: 'email address', requires: '@', pattern: /(?<=(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64})@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])/g },
  {
    type: 'iban', name: 'IBAN (mod-97 checked)',
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![a-z0-9])/g,
    check: ibanLength,
  },
  {
    type: 'credit_card', name: 'payment card number (Luhn checked)',
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    check: (match) => {
      const digits = digitsOf(match);
      return CARD_PREFIX.test(digits) && luhnValid(digits);
    },
  },
  { type: 'national_id', name: 'US social security number', pattern: /(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])/g },
  {
    type: 'national_id', name: 'Vietnamese citizen ID (CCCD, 12 digits)',
    pattern: /(?<![\d.-])0\d{11}(?![\d.-])/g,
    check: (match) => VN_PROVINCE_CODES.has(match.slice(0, 3)),
  },
  {
    type: 'phone', name: 'Vietnamese phone number (+84 / 0084 / 0, mobile or landline)',
    pattern: /(?<![\w+])(?:\+84|0084|\(?0)(?:[ .()-]{0,2}\d){9,10}(?![\d])/g,
    check: vietnamesePhone,
  },
  { type: 'phone', name: 'international phone number (+country …)', pattern: /(?<![\w+])\+[1-9](?:[ .()-]{0,2}\d){7,14}(?!\d)/g, check: internationalPhone },
  { type: 'phone', name: 'North American phone number', pattern: /(?<![\w+])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)/g },
  { type: 'secret', name: 'high-entropy token (32+ chars)', pattern: (text) => tokenRuns(text, 32), check: highEntropyToken },
];
