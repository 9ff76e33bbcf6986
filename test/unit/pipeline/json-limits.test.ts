import { describe, expect, it } from 'vitest';
import { checkJsonLimits, DEFAULT_JSON_LIMITS } from '../../../src/pipeline/json-limits.ts';
import { decodeJsonBody } from '../../../src/pipeline/runner.ts';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON limits', () => {
  it('accepts an ordinary chat body', () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], metadata: { a: 'b' } };
    expect(checkJsonLimits(body, DEFAULT_JSON_LIMITS)).toBeNull();
  });

  it('counts depth from the body (1) and allows exactly the limit', () => {
    const limits = { maxDepth: 4, maxValues: 1000 };
    expect(checkJsonLimits(JSON.parse(`{"a":${nested(3)}}`), limits)).toBeNull();
    const error = checkJsonLimits(JSON.parse(`{"a":${nested(4)}}`), limits);
    expect(error).toMatchObject({ status: 400, code: 'json_too_deep', param: 'a', type: 'invalid_request_error' });
    expect(error?.message).toContain('at most 4 levels');
  });

  it('rejects 50,000 nested arrays in metadata without recursion (400, not a stack overflow)', () => {
    const raw = Buffer.from(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":${nested(50_000)}}`);
    expect(() => decodeJsonBody(raw, DEFAULT_JSON_LIMITS)).toThrow(expect.objectContaining({ status: 400, code: 'json_too_deep', param: 'metadata' }));
  });

  it('counts values of every kind and names the field where the limit was reached', () => {
    const limits = { maxDepth: 64, maxValues: 10 };
    expect(checkJsonLimits({ a: [1, 2, 3], b: 'x', c: null, d: true }, limits)).toBeNull();
    const error = checkJsonLimits({ a: 'x', input: Array.from({ length: 20 }, () => 1) }, limits);
    expect(error).toMatchObject({ status: 400, code: 'json_too_many_values', param: 'input' });
    const raw = Buffer.from(JSON.stringify({ model: 'm', input: Array.from({ length: 500_000 }, () => 0) }));
    expect(() => decodeJsonBody(raw, DEFAULT_JSON_LIMITS)).toThrow(expect.objectContaining({ code: 'json_too_many_values' }));
  });

  it('is applied only when limits are given (the upstream filter decodes bodies Tollgate produced)', () => {
    const raw = Buffer.from(`{"a":${nested(100)}}`);
    expect(() => decodeJsonBody(raw)).not.toThrow();
    expect(() => decodeJsonBody(raw, DEFAULT_JSON_LIMITS)).toThrow();
  });
});
