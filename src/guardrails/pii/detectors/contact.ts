import { nearestCue, NOT_PERSONAL_NUMBER } from '../context.ts';
import { isReservedDomain } from '../placeholders.ts';
import { digitsOf, patternDetector, type Detector, type Range } from './detector.ts';

/** Email addresses and phone numbers. */

const LOCAL_PART = /[A-Za-z0-9._%+-]/;

/** Where the local part of the email whose @ is at `at` begins (at most 64 characters back). */
function localPartStart(text: string, at: number): number {
  let start = at;
  while (start > 0 && at - start < 64 && LOCAL_PART.test(text[start - 1] as string)) start -= 1;
  while (start < at && text[start] === '.') start += 1;
  return start;
}

/** Anchored at the @ (the local part is walked back by hand): 7× faster than a regex scanning from every letter. */
const DOMAIN_AFTER_AT = /@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24})(?![\w-]|\.[A-Za-z0-9])/g;

const email: Detector = {
  type: 'email',
  name: 'email address',
  requires: '@',
  find(text: string, into: Range[]): void {
    DOMAIN_AFTER_AT.lastIndex = 0;
    for (let match = DOMAIN_AFTER_AT.exec(text); match; match = DOMAIN_AFTER_AT.exec(text)) {
      const at = match.index;
      const start = localPartStart(text, at);
      if (start === at || isReservedDomain(match[1]!)) continue;
      // git@github.com:org/repo.git is an SSH remote, not a mailbox.
      if (text.slice(start, at) === 'git' && text[at + match[0].length] === ':') continue;
      into.push([start, at + match[0].length]);
    }
  },
};

/** Labels that announce a phone number, English and Vietnamese. */
const PHONE_CUE = /(?<![a-z])(?:tel|telephone|phone|ph|call|mobile|mob|cell|cellphone|fax|hotline|contact|whatsapp|zalo|viber|telegram|sms|text me|reach me|ring|sđt|sdt|số điện thoại|điện thoại|dien thoai|đt|di động|liên hệ|lien he|gọi|goi|số máy|nhắn tin|cố định|máy bàn|landline)(?![a-z])/g;

/** Rejected when the nearest label says it is an order, invoice, tracking or account number. */
const notLabelledOtherwise = (text: string, start: number) => nearestCue(text, start, PHONE_CUE, NOT_PERSONAL_NUMBER) !== 'no';

/**
 * Vietnamese numbers: mobile = 9 national digits with a network prefix in use (03x, 05x, 07x, 08x, 09x), landline =
 * 10 national digits starting 2 (area codes 02x since 2017).
 */
const VN_MOBILE_PREFIX = /^(?:3[2-9]|5[2689]|7[06-9]|8[1-9]|9\d)/;

function vietnamesePhone(match: string): boolean {
  const digits = digitsOf(match);
  const national = digits.startsWith('0084') ? digits.slice(4) : digits.startsWith('84') ? digits.slice(2) : digits.slice(1);
  return (national.length === 9 && VN_MOBILE_PREFIX.test(national)) || (national.length === 10 && national.startsWith('2'));
}

/** US fictional numbers (555-0100 … 555-0199) and the UK's drama ranges are reserved for films and examples. */
function fictional(digits: string): boolean {
  const national = digits.startsWith('1') && digits.length === 11 ? digits.slice(1) : digits;
  if (national.length === 10 && national.slice(3, 6) === '555' && national.slice(6, 8) === '01') return true;
  const uk = digits.startsWith('44') ? '0' + digits.slice(2) : digits;
  return /^(?:07700900|01632960|02079460|01134960|01614960|02890180|01174960)/.test(uk);
}

const vietnamese = patternDetector({
  type: 'phone', name: 'Vietnamese phone number (+84 / 0084 / 0, mobile or landline)',
  pattern: /(?<![\w+.\-/])(?:\(?\+84\)?|0084|84(?=[ .-]?[35789]\d)|\(?0)(?:[ .()-]{0,2}\d){9,10}(?![\d]|[.-]\d)/g,
  check: (value, text, start) => vietnamesePhone(value) && notLabelledOtherwise(text, start),
});

/** E.164 allows at most 15 digits; fewer than 8 is a code or a count, not a phone number. */
const international = patternDetector({
  type: 'phone', name: 'international phone number (+country …)',
  pattern: /(?<![\w+])\(?\+[1-9](?:[ .()-]{0,2}\d){7,14}(?!\d|[.-]\d)/g,
  check: (value, text, start) => {
    const digits = digitsOf(value);
    return digits.length >= 8 && digits.length <= 15 && !fictional(digits) && notLabelledOtherwise(text, start);
  },
});

const northAmerican = patternDetector({
  type: 'phone', name: 'North American phone number',
  pattern: /(?<![\w+.\-/])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d]|[.-]\d)/g,
  check: (value, text, start) => !fictional(digitsOf(value)) && /^[2-9]/.test(digitsOf(value).replace(/^1(?=\d{10}$)/, '')) && notLabelledOtherwise(text, start),
});

/** Other national formats (020 7946 …, 06 12 34 56 78, 030 1234567) only where a label says "phone". */
const labelledNational = patternDetector({
  type: 'phone', name: 'national phone number after a phone label',
  pattern: /(?<![\w+.\-/])\(?0\d{1,4}\)?(?:[ .-]?\d){6,10}(?![\d]|[.-]\d)/g,
  check: (value, text, start) => {
    const digits = digitsOf(value);
    return digits.length >= 9 && digits.length <= 12 && !fictional(digits) && nearestCue(text, start, PHONE_CUE, NOT_PERSONAL_NUMBER) === 'yes';
  },
});

/**
 * National formats distinctive enough to need no label: UK mobiles (07xxx xxxxxx, 11 digits) and French mobiles
 * (06 / 07 and four pairs: 06 12 34 56 78, 07.17.51.10.81).
 */
const ukMobile = patternDetector({
  type: 'phone', name: 'UK mobile number (07xxx xxxxxx)',
  pattern: /(?<![\w+.\-/])07[1-9]\d{2}[ -]?\d{3}[ -]?\d{3}(?![\d]|[.-]\d)/g,
  check: (value, text, start) => !fictional(digitsOf(value)) && notLabelledOtherwise(text, start),
});

const frenchMobile = patternDetector({
  type: 'phone', name: 'French mobile number (06 / 07 and four pairs)',
  pattern: /(?<![\w+.\-/])0[67](?:([ .-])\d{2})(?:\1\d{2}){3}(?![\d]|[.-]\d)/g,
  check: (_value, text, start) => notLabelledOtherwise(text, start),
});

export const EMAIL_DETECTORS: readonly Detector[] = [email];
export const PHONE_DETECTORS: readonly Detector[] = [vietnamese, international, northAmerican, ukMobile, frenchMobile, labelledNational];
