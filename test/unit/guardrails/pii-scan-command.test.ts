import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPii } from '../../../src/guardrails/pii/scan.ts';
import { projectRoot } from '../../helpers/policy-bundle.ts';

const scan = (input: string, ...flags: string[]) =>
  execFileSync(join(projectRoot, 'bin/tollgate'), ['pii-scan', ...flags], { input, encoding: 'utf8' })
    .trim().split('\n').map((line) => JSON.parse(line) as { spans?: Array<{ type: string; start: number; end: number }>; error?: string });

describe('tollgate pii-scan', () => {
  const texts = [
    'Gửi hợp đồng cho chị Lan: lan.tran@vinamilk.com.vn, SĐT 0987 654 321, CCCD 079203001234.',
    'curl -H "Authorization: Bearer sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a" https://api.openai.com/v1/models',
    '{"host": "81.2.69.142", "backup": "127.0.0.1", "iban": "DE89370400440532013000"}',
    'nothing personal here, see https://example.com/docs',
  ];

  it('writes one line per input with exactly the spans the gateway detector finds, JavaScript string offsets', () => {
    const out = scan(texts.map((text) => JSON.stringify({ text })).join('\n'));
    expect(out).toHaveLength(texts.length);
    out.forEach((line, i) => expect(line.spans).toEqual(findPii(texts[i]!).map(({ type, start, end }) => ({ type, start, end }))));
    // Offsets index the string as JavaScript does (UTF-16), so the Vietnamese text's values slice out exactly.
    const first = out[0]!.spans!.map((span) => [span.type, texts[0]!.slice(span.start, span.end)]);
    expect(first).toEqual([['email', 'lan.tran@vinamilk.com.vn'], ['phone', '0987 654 321'], ['national_id', '079203001234']]);
    expect(out[3]!.spans).toEqual([]);
  });

  it('turns detectors off by type, and answers a bad line with an error line in place', () => {
    const out = scan(`${JSON.stringify({ text: texts[0] })}\nnot json\n{"txt": 1}`, '--disable', 'phone,email');
    expect(out[0]!.spans!.map((span) => span.type)).toEqual(['national_id']);
    expect(out[1]!.error).toMatch(/not JSON/);
    expect(out[2]!.error).toMatch(/expected \{"text": string\}/);
  });

  it('rejects an unknown type', () => {
    expect(() => scan('{"text":"x"}', '--disable', 'emails')).toThrow(/unknown type in --disable: emails/);
  });
});
