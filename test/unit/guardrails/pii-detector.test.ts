import { describe, expect, it } from 'vitest';
import { bsnValid, dniValid, entropyBitsPerChar, ibanValid, luhnValid, nirValid, verhoeffValid } from '../../../src/guardrails/pii/checksums.ts';
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

describe('more checksums', () => {
  it('Verhoeff (Aadhaar), mod 23 (DNI/NIE), NIR key and the BSN 11-test accept valid numbers and reject a changed digit', () => {
    expect(verhoeffValid('2363')).toBe(true);
    expect(verhoeffValid('2364')).toBe(false);
    expect(dniValid('12345678Z')).toBe(true);
    expect(dniValid('12345678A')).toBe(false);
    expect(dniValid('X1234567L')).toBe(true);
    expect(nirValid('255081416802538')).toBe(true);
    expect(nirValid('255081416802539')).toBe(false);
    expect(bsnValid('111222333')).toBe(true);
    expect(bsnValid('111222334')).toBe(false);
  });
});

describe('PII detector', () => {
  it.each([
    ['email', 'write to jane.doe+hr@acme.co.uk today', 'jane.doe+hr@acme.co.uk'],
    ['email', 'liên hệ an.nguyen@fpt.com.vn nhé', 'an.nguyen@fpt.com.vn'],
    ['phone', 'Vietnamese mobile 0912 345 678.', '0912 345 678'],
    ['phone', 'mobile with country code +84 912 345 678', '+84 912 345 678'],
    ['phone', 'mobile 0084912345678 dialled from abroad', '0084912345678'],
    ['phone', 'Hà Nội landline 024 3825 1234', '024 3825 1234'],
    ['phone', 'HCMC landline (028) 3823 4567', '(028) 3823 4567'],
    ['phone', 'US (415) 555-2671', '(415) 555-2671'],
    ['phone', 'international +44 20 7123 4567', '+44 20 7123 4567'],
    ['phone', 'tel: 06 12 34 56 78 (Paris)', '06 12 34 56 78'],
    ['credit_card', 'card 4539 1488 0343 6467 exp 12/29', '4539 1488 0343 6467'],
    ['credit_card', 'amex 3752-601815-90834', '3752-601815-90834'],
    ['iban', 'IBAN DE89 3704 0044 0532 0130 00 OK', 'DE89 3704 0044 0532 0130 00'],
    ['iban', 'pay GB82WEST12345698765432.', 'GB82WEST12345698765432'],
    ['national_id', 'SSN 219-45-6781', '219-45-6781'],
    ['national_id', 'CCCD 001099012345 (Hà Nội)', '001099012345'],
    ['national_id', 'số CMND 212345678 cấp năm 2010', '212345678'],
    ['national_id', 'Số hộ chiếu: C1234567', 'C1234567'],
    ['national_id', 'mã số BHXH 7912345678', '7912345678'],
    ['national_id', 'NI number AB 12 34 56 C', 'AB 12 34 56 C'],
    ['national_id', 'DNI 12345678Z', '12345678Z'],
    ['national_id', 'NIE X1234567L', 'X1234567L'],
    ['national_id', 'numéro de sécurité sociale 2 55 08 14 168 025 38', '2 55 08 14 168 025 38'],
    ['national_id', 'BSN: 111222333', '111222333'],
    ['national_id', 'PAN AFZPK7190K', 'AFZPK7190K'],
    ['national_id', 'SIN 130 692 544', '130 692 544'],
    ['secret', 'key sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a', 'sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a'],
    ['secret', 'aws AKIA4QWERTYUIOPASD2F', 'AKIA4QWERTYUIOPASD2F'],
    ['secret', 'gh ghp_R8mK2vQ9xT4pL7wN3zB6cY1dH5fJ0gS8aE2u', 'ghp_R8mK2vQ9xT4pL7wN3zB6cY1dH5fJ0gS8aE2u'],
    ['secret', 'token 9fQ2xLp7ZkR4vN8sT1wY6bH3jC5mD0aE here', '9fQ2xLp7ZkR4vN8sT1wY6bH3jC5mD0aE'],
    ['secret', 'DATABASE_URL=postgres://app:S3cr3t!x@db.internal:5432/app', 'postgres://app:S3cr3t!x@db.internal:5432/app'],
    ['secret', 'db:\n  password: Tr0ub4dor&3\n', 'Tr0ub4dor&3'],
    ['secret', 'mật khẩu là Abc@12345 nhé', 'Abc@12345'],
    ['ip_address', 'the server 81.2.69.142 refused', '81.2.69.142'],
    ['ip_address', 'my laptop is 192.168.1.23', '192.168.1.23'],
    ['ip_address', 'from 2a03:2880:f10c:83:face:b00c:0:25de', '2a03:2880:f10c:83:face:b00c:0:25de'],
  ])('finds %s in %j', (type, text, value) => {
    expect(found(text)).toEqual([[type, value]]);
  });

  it.each([
    ['a card number failing Luhn', 'card 4111 1111 1111 1112'],
    ['published test cards', 'use 4242 4242 4242 4242 or 5555 5555 5555 4444 in the sandbox'],
    ['an IBAN with a wrong check', 'IBAN DE89 3704 0044 0532 0130 30'],
    ['an SSN with area 000 or 9xx, and the published example', 'ids 000-12-3456, 912-34-5678 and 078-05-1120'],
    ['12 digits without a province code', 'order 099099012345'],
    ['a Vietnamese-looking number of the wrong length', 'ref 09123456'],
    ['a mobile prefix that does not exist', 'number 0112 345 678'],
    ['a phone-shaped order number', 'Mã đơn hàng 0912345678 đã giao'],
    ['US fictional numbers', 'call (415) 555-0132 or 555-0199'],
    ['dates, times, amounts and versions', 'on 2024-01-15 at 10:30 we paid 4,500.00 USD for v1.22.3 (build 2.4.10.1)'],
    ['a git commit hash (hex has too little entropy)', 'commit 3f786850e387550fdab836ed7e6dc881de23001b'],
    ['identifiers, paths and UUIDs', 'see src/guardrails/pii/detectors.ts and 123e4567-e89b-12d3-a456-426614174000'],
    ['an email-like handle without a domain', 'ping @alice or bob@localhost'],
    ['reserved and placeholder domains', 'mail jane@example.com, ops@corp.example.org, a@b.test, x@y.invalid, z@w.example'],
    ['placeholder keys', 'set OPENAI_API_KEY=sk-... or YOUR_API_KEY; AWS AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY; [REDACTED]'],
    ['placeholder passwords', 'password: ${DB_PASSWORD}\npassword: "<your-password>"\nthe password is required'],
    ['loopback, unspecified and documentation addresses', 'bind 127.0.0.1, 0.0.0.0, ::1 or 203.0.113.7'],
    ['versions and OIDs', 'upgrade to 1.2.3.4 → version 10.0.0.1; OID 1.3.6.1.4.1.311.21.8'],
    ['ISBNs, prices and invoices', 'ISBN 978-3-16-148410-0, giá 1.234.567 VND, invoice INV-2024-000123'],
    ['masked numbers', 'card ending in 4242, **** **** **** 4242, SSN xxx-xx-1234, 0912***678'],
  ])('ignores %s', (_what, text) => {
    expect(found(text)).toEqual([]);
  });

  it('reports each value once, the more specific type winning an overlap', () => {
    // The URL holds a password and an @: it is one secret, not an email.
    const text = 'use redis://:Xk9pQ2mW7vR4@cache.acme.io:6379 and 0912345678@acme.vn';
    expect(found(text)).toEqual([
      ['secret', 'redis://:Xk9pQ2mW7vR4@cache.acme.io:6379'],
      ['email', '0912345678@acme.vn'],
    ]);
  });

  it('returns types and counts only, never values', () => {
    const findings = detectPii(['mail a@acme-corp.com, b@acme-corp.com', 'call 0912 345 678', 'nothing here']);
    expect(findings).toEqual({ total: 3, types: { email: 2, phone: 1 } });
    expect(JSON.stringify(findings)).not.toContain('acme');
  });

  it('finds nothing in ordinary prose', () => {
    expect(detectPii(['Please summarise the quarterly planning notes in three bullet points.'])).toEqual({ total: 0, types: {} });
  });
});

describe('redaction', () => {
  it('masks only the requested types and keeps the rest of the text', () => {
    const text = 'Mail jane@acme-corp.com or call +84 912 345 678, card 4539 1488 0343 6467.';
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
    const text = 'IBAN GB82WEST12345698765432, SSN 219-45-6781, CCCD 079203001234, key AKIA4QWERTYUIOPASD2F, host 81.2.69.142';
    const redacted = redactPii(text, all);
    expect(redacted).toBe('IBAN [REDACTED_IBAN], SSN [REDACTED_NATIONAL_ID], CCCD [REDACTED_NATIONAL_ID], key [REDACTED_SECRET], host [REDACTED_IP_ADDRESS]');
    expect(findPii(redacted)).toEqual([]);
  });
});
