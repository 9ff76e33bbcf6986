import { describe, expect, it } from 'vitest';
import { entropyBitsPerChar, ibanValid, luhnValid } from '../../../src/guardrails/pii/checksums.ts';
import { detectPii, findPii, redactPii } from '../../../src/guardrails/pii/scan.ts';
import { PII_TYPES, type PiiType } from '../../../src/guardrails/pii/types.ts';

/** [type, value] of every finding, to compare with what a reader sees in the text. */
const found = (text: string) => findPii(text).map((span) => [span.type, text.slice(span.start, span.end)]);
const all = new Set<PiiType>(PII_TYPES);

describe('checksums', () => {
  it('Luhn accepts real test card numbers and rejects a changed digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
  });

  it('IBAN mod-97 accepts registry examples and rejects a swapped pair', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('FR1420041010050500013M02606')).toBe(true);
    expect(ibanValid('DE89370400440532013030')).toBe(false);
  });

  it('entropy separates random tokens from words', () => {
    expect(entropyBitsPerChar('9fQ2xLp7ZkR4vN8sT1wY6bH3jC5mD0aE')).toBeGreaterThan(4);
    expect(entropyBitsPerChar('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).toBe(0);
  });
});

describe('PII detector', () => {
  it.each([
    ['email', 'write to jane.doe+hr@example.co.uk today', 'jane.doe+hr@example.co.uk'],
    ['phone', 'Vietnamese mobile 0912 345 678.', '0912 345 678'],
    ['phone', 'mobile with country code +84 912 345 678', '+84 912 345 678'],
    ['phone', 'mobile 0084912345678 dialled from abroad', '0084912345678'],
    ['phone', 'Hà Nội landline 024 3825 1234', '024 3825 1234'],
    ['phone', 'HCMC landline (028) 3823 4567', '(028) 3823 4567'],
    ['phone', 'province landline 0236.3822.123', '0236.3822.123'],
    ['phone', 'US (415) 555-2671', '(415) 555-2671'],
    ['phone', 'international +44 20 7946 0958', '+44 20 7946 0958'],
    ['credit_card', 'card 4111 1111 1111 1111 exp 12/29', '4111 1111 1111 1111'],
    ['credit_card', 'amex 3782-822463-10005', '3782-822463-10005'],
    ['iban', 'IBAN DE89 3704 0044 0532 0130 00 OK', 'DE89 3704 0044 0532 0130 00'],
    ['iban', 'pay GB82WEST12345698765432.', 'GB82WEST12345698765432'],
    ['national_id', 'SSN 123-45-6789', '123-45-6789'],
    ['national_id', 'CCCD 001099012345 (Hà Nội)', '001099012345'],
    ['secret', 'key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789', 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789'],
    ['secret', 'aws AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['secret', 'gh ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'],
    ['secret', 'token 9fQ2xLp7ZkR4vN8sT1wY6bH3jC5mD0aE here', '9fQ2xLp7ZkR4vN8sT1wY6bH3jC5mD0aE'],
  ])('finds %s in %j', (type, text, value) => {
    expect(found(text)).toEqual([[type, value]]);
  });

  it.each([
    ['a card number failing Luhn', 'card 4111 1111 1111 1112'],
    ['an IBAN with a wrong check', 'IBAN DE89 3704 0044 0532 0130 30'],
    ['an SSN with area 000 or 9xx', 'ids 000-12-3456 and 912-34-5678'],
    ['12 digits without a province code', 'order 099099012345'],
    ['a Vietnamese-looking number of the wrong length', 'ref 09123456'],
    ['a mobile prefix that does not exist', 'number 0112 345 678'],
    ['dates, times, amounts and versions', 'on 2024-01-15 at 10:30 we paid 4,500.00 USD for v1.22.3'],
    ['a git commit hash (hex has too little entropy)', 'commit 3f786850e387550fdab836ed7e6dc881de23001b'],
    ['identifiers and paths', 'see src/guardrails/pii/detectors.ts and 123e4567-e89b-12d3-a456-426614174000'],
    ['an email-like handle without a domain', 'ping @alice or bob@localhost'],
  ])('ignores %s', (_what, text) => {
    expect(found(text)).toEqual([]);
  });

  it('reports each value once, the more specific type winning an overlap', () => {
    // The key contains digit runs that could look like phone numbers; the email contains a name.
    const text = 'sk-live-0912345678aaaaaaaaaaaaaaaa and 0912345678@example.com';
    expect(found(text)).toEqual([
      ['secret', 'sk-live-0912345678aaaaaaaaaaaaaaaa'],
      ['email', '0912345678@example.com'],
    ]);
  });

  it('returns types and counts only, never values', () => {
    const findings = detectPii(['mail a@example.com, b@example.org', 'call 0912 345 678', 'nothing here']);
    expect(findings).toEqual({ total: 3, types: { email: 2, phone: 1 } });
    expect(JSON.stringify(findings)).not.toContain('example');
  });

  it('finds nothing in ordinary prose', () => {
    expect(detectPii(['Please summarise the quarterly planning notes in three bullet points.'])).toEqual({ total: 0, types: {} });
  });
});

describe('redaction', () => {
  it('masks only the requested types and keeps the rest of the text', () => {
    const text = 'Mail jane@example.com or call +84 912 345 678, card 4111 1111 1111 1111.';
    expect(redactPii(text, new Set<PiiType>(['email', 'credit_card']))).toBe(
      'Mail [REDACTED_EMAIL] or call +84 912 345 678, card [REDACTED_CREDIT_CARD].',
    );
    expect(redactPii(text, all)).toBe('Mail [REDACTED_EMAIL] or call [REDACTED_PHONE], card [REDACTED_CREDIT_CARD].');
  });

  it('returns the same string when nothing matched', () => {
    const text = 'nothing personal';
    expect(redactPii(text, all)).toBe(text);
  });

  it('leaves nothing detectable behind', () => {
    const text = 'IBAN GB82WEST12345698765432, SSN 123-45-6789, CCCD 079203001234, key AKIAIOSFODNN7EXAMPLE';
    const redacted = redactPii(text, all);
    expect(redacted).toBe('IBAN [REDACTED_IBAN], SSN [REDACTED_NATIONAL_ID], CCCD [REDACTED_NATIONAL_ID], key [REDACTED_SECRET]');
    expect(findPii(redacted)).toEqual([]);
  });
});
