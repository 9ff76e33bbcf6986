/** The arithmetic checks that tell a real card number, IBAN, national ID or secret from a look-alike. */

/** Luhn (mod 10): payment cards, Canadian SINs, IMEIs. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** A decimal or alphanumeric string mod 97, letters as 10..35, folded so it never leaves safe integer range. */
export function mod97(text: string): number {
  let remainder = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value > 9 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder;
}

/** ISO 13616 check: country and check digits moved to the end, the number mod 97 is 1. */
export function ibanValid(compact: string): boolean {
  return mod97(compact.slice(4) + compact.slice(0, 4)) === 1;
}

// Verhoeff's dihedral-group tables (Aadhaar's check digit).
const VERHOEFF_D = [
  '0123456789', '1234067895', '2340178956', '3401289567', '4012395678',
  '5987604321', '6598710432', '7659821043', '8765932104', '9876543210',
].map((row) => [...row].map(Number));
const VERHOEFF_P = [
  '0123456789', '1576283094', '5803796142', '8916043527', '9453126870', '4286573901', '2793806415', '7046913258',
].map((row) => [...row].map(Number));

export function verhoeffValid(digits: string): boolean {
  let check = 0;
  for (let i = 0; i < digits.length; i += 1) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    check = VERHOEFF_D[check]![VERHOEFF_P[i % 8]![digit]!]!;
  }
  return check === 0;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): the letter is the number mod 23. */
export function dniValid(value: string): boolean {
  const upper = value.toUpperCase();
  const lead = 'XYZ'.indexOf(upper[0]!);
  const number = Number((lead >= 0 ? String(lead) : '') + upper.slice(lead >= 0 ? 1 : 0, -1));
  return DNI_LETTERS[number % 23] === upper[upper.length - 1];
}

/** French NIR (15 characters, Corsica's 2A/2B as 19/18): the last two digits are 97 − (the first 13 mod 97). */
export function nirValid(compact: string): boolean {
  const body = compact.slice(0, 13).replace(/2A/i, '19').replace(/2B/i, '18');
  if (!/^\d{13}$/.test(body)) return false;
  return 97 - mod97(body) === Number(compact.slice(13));
}

/** Dutch BSN: the "11-test", 9a + 8b + … + 2h − 1i divisible by 11. */
export function bsnValid(digits: string): boolean {
  if (digits.length !== 9) return false;
  let sum = 0;
  for (let i = 0; i < 8; i += 1) sum += (9 - i) * (digits.charCodeAt(i) - 48);
  sum -= digits.charCodeAt(8) - 48;
  return sum % 11 === 0 && sum !== 0;
}

/** Shannon entropy in bits per character: random tokens score high, words and identifiers low. */
export function entropyBitsPerChar(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
