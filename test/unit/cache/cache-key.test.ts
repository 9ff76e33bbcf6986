import { describe, expect, it } from 'vitest';
import { canonicalJson, exactKey, semanticQuery, tenantScope, type KeyInput } from '../../../src/cache/cache-key.ts';

const candidates = [{ provider: 'openai', vendor: 'openai' as const, region: null, model: 'gpt-4o-mini' }];
const input = (body: Record<string, unknown>, overrides: Partial<KeyInput> = {}): KeyInput => ({
  scope: ['acme', 'platform', 'playground'], alias: 'gpt-4o-mini', candidates, kind: 'json', body, ...overrides,
});
const base = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'Hi' }] };

describe('cache keys', () => {
  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('differs in every field that changes the output, including ones it does not know', () => {
    const key = exactKey(input(base));
    const variants: Array<Record<string, unknown>> = [
      { temperature: 0.1 }, { top_p: 0.9 }, { seed: 1 }, { max_tokens: 10 }, { max_completion_tokens: 10 }, { stop: ['x'] },
      { n: 2 }, { tools: [{ type: 'function', function: { name: 'f' } }] }, { tool_choice: 'none' },
      { response_format: { type: 'json_object' } }, { logit_bias: { 1: 1 } }, { presence_penalty: 1 }, { reasoning_effort: 'low' },
      { some_future_field: true }, { messages: [{ role: 'user', content: 'Hi!' }] },
    ];
    for (const variant of variants) expect(exactKey(input({ ...base, ...variant })), JSON.stringify(variant)).not.toBe(key);
    expect(exactKey(input(base, { scope: ['acme', 'platform', 'batch'] }))).not.toBe(key);
    expect(exactKey(input(base, { kind: 'sse' }))).not.toBe(key);
    expect(exactKey(input(base, { candidates: [{ ...candidates[0]!, model: 'gpt-4o' }] }))).not.toBe(key);
  });

  it('ignores key order and output-neutral fields (stream options, user, metadata)', () => {
    const key = exactKey(input(base));
    expect(exactKey(input({ messages: base.messages, temperature: 0, model: 'gpt-4o-mini' }))).toBe(key);
    expect(exactKey(input({ ...base, user: 'u1', metadata: { a: '1' }, stream_options: { include_usage: true } }))).toBe(key);
  });

  it('scopes tenants at most by org, as narrowly as configured', () => {
    const tenant = { org: 'acme', team: 'platform', app: 'playground' };
    expect(tenantScope(tenant, 'org')).toEqual(['acme']);
    expect(tenantScope(tenant, 'team')).toEqual(['acme', 'platform']);
    expect(tenantScope(tenant, 'app')).toEqual(['acme', 'platform', 'playground']);
  });

  it('semantic namespace: same for another wording of the last user message, different for anything else', () => {
    const a = semanticQuery(input(base));
    const b = semanticQuery(input({ ...base, messages: [{ role: 'user', content: 'Hello' }] }));
    expect(a?.text).toBe('Hi');
    expect(a?.namespace).toBe(b?.namespace);
    expect(semanticQuery(input({ ...base, temperature: 1 }))?.namespace).not.toBe(a?.namespace);
    expect(semanticQuery(input(base, { scope: ['other'] }))?.namespace).not.toBe(a?.namespace);
    const multi = (first: string) => semanticQuery(input({ ...base, messages: [{ role: 'user', content: first }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'Hi' }] }));
    expect(multi('one')?.namespace).not.toBe(multi('two')?.namespace);
    expect(semanticQuery(input({ ...base, messages: [{ role: 'assistant', content: 'x' }] }))).toBeNull();
    expect(semanticQuery(input({ ...base, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }))).toBeNull();
  });
});
