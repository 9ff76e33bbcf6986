import { describe, expect, it } from 'vitest';
import { processMethod } from '../../../src/extproc/proto.ts';

describe('ext_proc response encoding', () => {
  const method = processMethod();

  it('encodes a plain "continue" once per phase (the same bytes every time, distinct per phase)', () => {
    const first = method.encodeResponse({ response_body: { response: {} } });
    const again = method.encodeResponse({ response_body: { response: {} } });
    expect(again).toBe(first);
    const headers = method.encodeResponse({ request_headers: { response: {} } });
    expect(headers.equals(first)).toBe(false);
  });

  it('encodes every answer that changes something afresh', () => {
    const plain = method.encodeResponse({ request_body: { response: {} } });
    const routed = method.encodeResponse({ request_body: { response: { clear_route_cache: true } } });
    const withMetadata = method.encodeResponse({
      request_body: { response: {} },
      dynamic_metadata: { fields: { ns: { structValue: { fields: { a: { stringValue: 'b' } } } } } },
    });
    expect(routed.equals(plain)).toBe(false);
    expect(withMetadata.equals(plain)).toBe(false);
    expect(withMetadata.length).toBeGreaterThan(plain.length);
  });
});
