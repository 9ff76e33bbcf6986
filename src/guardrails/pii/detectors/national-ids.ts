import { bsnValid, dniValid, luhnValid, nirValid, verhoeffValid } from '../checksums.ts';
import { nearestCue, NOT_PERSONAL_NUMBER } from '../context.ts';
import { digitsOf, patternDetector, type Detector, type Range } from './detector.ts';

/**
 * National identifiers: Vietnamese CCCD / CMND / passport / BHXH, US SSN, UK NINO, Spanish DNI / NIE, French NIR,
 * Dutch BSN, Indian PAN / Aadhaar, Canadian SIN. A format with its own check digit or letter stands alone; a bare
 * run of nine or ten digits is an ID only where a label in front of it says which one (and its check digit agrees).
 */

const cue = (words: string) => new RegExp(`(?<![\\p{L}\\d])(?:${words})(?![\\p{L}])`, 'gu');

const CUES = {
  ssn: cue('ssn|social security(?: number| no\\.?)?|soc\\.? sec\\.?'),
  cmnd: cue('cmnd|cmt|chứng minh(?: nhân dân| thư)?|chung minh|giấy cmnd|số cmnd|id card|identity card'),
  cccd: cue('cccd|căn cước(?: công dân)?|can cuoc|định danh(?: cá nhân)?|mã định danh|citizen id|national id|id number|số id'),
  passport: cue('passport(?: no\\.?| number)?|hộ chiếu|ho chieu|số hộ chiếu|hc'),
  bhxh: cue('bhxh|bảo hiểm xã hội|bao hiem xa hoi|mã số bhxh|sổ bhxh|mã bhxh|bhyt|social insurance code'),
  bsn: cue('bsn|burgerservicenummer|sofinummer|sofi|citizen service number'),
  sin: cue('sin|social insurance(?: number)?|nas|numéro d\'assurance sociale'),
  aadhaar: cue('aadhaar|aadhar|uidai|uid|आधार'),
};

type CueName = keyof typeof CUES;

const labelled = (name: CueName) => (text: string, start: number) => nearestCue(text, start, CUES[name], NOT_PERSONAL_NUMBER) === 'yes';
const notOtherwise = (name: CueName) => (text: string, start: number) => nearestCue(text, start, CUES[name], NOT_PERSONAL_NUMBER) !== 'no';

/** Published example numbers (Woolworth's card, the IRS and SSA examples). */
const EXAMPLE_SSNS = new Set(['078051120', '219099999', '123456789', '457555462']);

function ssnDigitsValid(digits: string): boolean {
  const area = digits.slice(0, 3);
  return area !== '000' && area !== '666' && area[0] !== '9' && digits.slice(3, 5) !== '00' && digits.slice(5) !== '0000' &&
    !EXAMPLE_SSNS.has(digits);
}

const ssn = patternDetector({
  type: 'national_id', name: 'US social security number',
  pattern: /(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])/g,
  check: (value, text, start) => ssnDigitsValid(digitsOf(value)) && (/-/.test(value) || labelled('ssn')(text, start)) && notOtherwise('ssn')(text, start),
});

/** Province and city codes that open a Vietnamese citizen ID (CCCD), 001 Hà Nội … 096 Cà Mau. */
const VN_PROVINCE_CODES = new Set([
  '001', '002', '004', '006', '008', '010', '011', '012', '014', '015', '017', '019', '020', '022', '024', '025',
  '026', '027', '030', '031', '033', '034', '035', '036', '037', '038', '040', '042', '044', '045', '046', '048',
  '049', '051', '052', '054', '056', '058', '060', '062', '064', '066', '067', '068', '070', '072', '074', '075',
  '077', '079', '080', '082', '083', '084', '086', '087', '089', '091', '092', '093', '094', '095', '096',
]);

/** CCCD: province code, then century and sex (0–3 for people born 1900–2099), birth year, six serial digits. */
const cccd = patternDetector({
  type: 'national_id', name: 'Vietnamese citizen ID (CCCD, 12 digits)',
  pattern: /(?<![\d.,-])0\d{2}[ .]?[0-3]\d{2}[ .]?\d{3}[ .]?\d{3}(?![\d]|[.,-]\d)/g,
  check: (value, text, start) => VN_PROVINCE_CODES.has(value.slice(0, 3)) && digitsOf(value).length === 12 && notOtherwise('cccd')(text, start),
});

/** UK National Insurance number: prefix letters that HMRC issues, six digits, suffix A–D. */
const nino = patternDetector({
  type: 'national_id', name: 'UK National Insurance number',
  pattern: /(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])/g,
});

const dniNie = patternDetector({
  type: 'national_id', name: 'Spanish DNI / NIE (check letter)',
  pattern: /(?<![A-Za-z0-9-])(?:\d{8}|[XYZ]-?\d{7})-?[A-HJ-NP-TV-Z](?![A-Za-z0-9])/g,
  check: (value) => dniValid(value.replace(/-/g, '')),
});

const nir = patternDetector({
  type: 'national_id', name: 'French NIR (social security number, key checked)',
  pattern: /(?<![\d])[12478](?: ?[\dAB]){14}(?![\d])/g,
  check: (value) => {
    const compact = value.replace(/ /g, '');
    return compact.length === 15 && nirValid(compact);
  },
});

const pan = patternDetector({
  type: 'national_id', name: 'Indian PAN',
  pattern: /(?<![A-Za-z0-9])[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z](?![A-Za-z0-9])/g,
  check: (value) => !/^(?:ABCDE|AAAAA|XXXXX)/.test(value) && !/^([A-Z])\1{4}/.test(value),
});

/** Aadhaar: 12 digits, never starting 0 or 1, Verhoeff-checked; written 4-4-4 or after its label. */
const aadhaar = patternDetector({
  type: 'national_id', name: 'Indian Aadhaar number (Verhoeff checked)',
  pattern: /(?<![\d.,-])[2-9]\d{3}([ -]?)\d{4}\1\d{4}(?![\d]|[.,-]\d)/g,
  check: (value, text, start) => {
    const digits = digitsOf(value);
    if (!verhoeffValid(digits) || /^(\d)\1+$/.test(digits)) return false;
    return /[ -]/.test(value) ? notOtherwise('aadhaar')(text, start) : labelled('aadhaar')(text, start);
  },
});

const vietnamesePassport = patternDetector({
  type: 'national_id', name: 'passport number after a passport label',
  pattern: /(?<![A-Za-z0-9])[A-Z]{1,2}\d{6,8}(?![A-Za-z0-9])/g,
  check: (_value, text, start) => labelled('passport')(text, start),
});

/**
 * Nine or ten bare digits (with spaces, dots or dashes between groups): an old Vietnamese ID card (CMND, 9), a BHXH
 * code (10), a Dutch BSN (9, 11-test), a Canadian SIN (9, Luhn) or an SSN without dashes — only where the nearest
 * label says which.
 */
const LABELLED_DIGITS = /(?<![\d.,-])\d(?:[ .-]?\d){8,9}(?![\d]|[.,-]\d)/g;

const labelledDigits: Detector = {
  type: 'national_id',
  name: 'CMND / BHXH / BSN / SIN / SSN after its label',
  find(text: string, into: Range[]): void {
    LABELLED_DIGITS.lastIndex = 0;
    for (let match = LABELLED_DIGITS.exec(text); match; match = LABELLED_DIGITS.exec(text)) {
      // A dotted quad ("192.168.1.77") is an address, whatever label stands nearby.
      if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(match[0])) continue;
      const digits = digitsOf(match[0]);
      const start = match.index;
      const ok =
        digits.length === 9
          ? (labelled('cmnd')(text, start)) ||
            (labelled('bsn')(text, start) && bsnValid(digits)) ||
            (labelled('sin')(text, start) && luhnValid(digits) && digits[0] !== '0' && digits[0] !== '8') ||
            (labelled('ssn')(text, start) && ssnDigitsValid(digits))
          : labelled('bhxh')(text, start);
      if (ok) into.push([start, start + match[0].length]);
    }
  },
};

export const NATIONAL_ID_DETECTORS: readonly Detector[] = [ssn, cccd, nino, dniNie, nir, pan, aadhaar, vietnamesePassport, labelledDigits];
