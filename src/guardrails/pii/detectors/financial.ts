import { ibanValid, luhnValid } from '../checksums.ts';
import { nearestCue, NOT_PERSONAL_NUMBER, textAfter, textBefore } from '../context.ts';
import { TEST_CARD_NUMBERS } from '../placeholders.ts';
import { digitsOf, patternDetector, type Detector, type Range } from './detector.ts';

/** Payment card numbers and IBANs: both carry a check digit, so a look-alike rarely passes. */

/** Issuer prefixes of payment cards (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|3[05689]|6(?:011|5|4[4-9]|2)|50|5[6-8])/;

/** Lengths the schemes issue: 15 digits is American Express, 14 Diners, 13 an old Visa; 16–19 the rest. */
function cardLengthFits(digits: string): boolean {
  switch (digits.length) {
    case 13: return digits[0] === '4';
    case 14: return /^3[0689]/.test(digits);
    case 15: return /^3[47]/.test(digits);
    default: return digits.length >= 16 && !/^3[47]/.test(digits);
  }
}

const CARD_CUE = /(?<![a-z])(?:card|credit|debit|visa|master ?card|amex|cc|pan|thẻ|số thẻ|the tin dung|payment|pay)(?![a-z])/g;
/** A card the text itself calls a test or example card. */
const TEST_WORDS = /(?<![a-z])(?:test|testing|sandbox|example|sample|dummy|fake|demo|thử|giả)(?![a-z])/;

const card = patternDetector({
  type: 'credit_card', name: 'payment card number (Luhn checked)',
  pattern: /(?<![\d\-.,/])\d(?:[ -]?\d){12,18}(?![\d]|[-.,/]\d)/g,
  check: (value, text, start) => {
    const digits = digitsOf(value);
    if (!CARD_PREFIX.test(digits) || !cardLengthFits(digits) || !luhnValid(digits) || /^(\d)\1+$/.test(digits)) return false;
    // Separators are consistent in a written card number: "4111 1111 1111 1111", not "4111-1111 11111111".
    if (/ /.test(value) && /-/.test(value)) return false;
    if (TEST_CARD_NUMBERS.has(digits)) return false;
    const near = textBefore(text, start, 40) + ' ' + textAfter(text, start + value.length, 12);
    if (TEST_WORDS.test(near) && !/(?<![a-z])(?:real|live|thật)(?![a-z])/.test(near)) return false;
    return nearestCue(text, start, CARD_CUE, NOT_PERSONAL_NUMBER) !== 'no';
  },
});

/** IBAN length per country (ISO 13616 registry, the countries seen most); others must be 15–34 long. */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22,
  DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25,
  QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24,
  XK: 20,
};

/** Keeps the IBAN's own length of a match that may have run into the next word. */
function ibanRange(match: string): Range | false {
  const compact = match.replace(/ /g, '').toUpperCase();
  const expected = IBAN_LENGTHS[compact.slice(0, 2)];
  if (expected !== undefined && compact.length < expected) return false;
  const length = expected ?? compact.length;
  if (length < 15 || length > 34 || !ibanValid(compact.slice(0, length))) return false;
  let seen = 0;
  for (let i = 0; i < match.length; i += 1) {
    if (match[i] !== ' ') seen += 1;
    if (seen === length) return [0, i + 1];
  }
  return false;
}

const iban = patternDetector({
  type: 'iban', name: 'IBAN (mod-97 checked)',
  pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![a-z0-9])/g,
  check: ibanRange,
});

export const FINANCIAL_DETECTORS: readonly Detector[] = [iban, card];
