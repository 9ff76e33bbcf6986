import { describe, expect, it } from 'vitest';
import { DeliveredStream } from '../../../src/quota/delivered.ts';
import { countTextTokens, promptTokens, tokensForVendor } from '../../../src/quota/estimate.ts';
import { formatResetDuration, rateLimitHeaders } from '../../../src/quota/headers.ts';
import type { BucketSpec } from '../../../src/quota/engine.ts';

describe('prompt token estimate', () => {
  it('counts chat messages with the o200k tokenizer plus OpenAI framing', () => {
    // "Hello world" is 2 tokens, "user" 1; framing 3 per message + 3 reply priming.
    expect(promptTokens('chat', { messages: [{ role: 'user', content: 'Hello world' }] })).toBe(2 + 1 + 3 + 3);
    const parts = promptTokens('chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello world' }, { type: 'image_url', image_url: { url: 'x' } }] }] });
    expect(parts).toBe(2 + 1 + 3 + 3 + 1105);
  });

  it('counts tool definitions, and never throws on special-token markers in user text', () => {
    const base = promptTokens('chat', { messages: [{ role: 'user', content: 'hi' }] });
    const withTools = promptTokens('chat', { messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }] });
    expect(withTools).toBeGreaterThan(base + 5);
    expect(countTextTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('counts embeddings inputs: strings, lists of strings, token arrays', () => {
    expect(promptTokens('embeddings', { input: 'Hello world' })).toBe(2);
    expect(promptTokens('embeddings', { input: ['Hello world', 'Hello'] })).toBe(3);
    expect(promptTokens('embeddings', { input: [1, 2, 3, 4] })).toBe(4);
    expect(promptTokens('embeddings', { input: [[1, 2], [3]] })).toBe(3);
  });

  it('extrapolates beyond 256 KiB of text instead of tokenizing it all', () => {
    const text = 'lorem ipsum dolor sit amet '.repeat(40_000); // ~1 MiB
    const estimate = countTextTokens(text);
    const exactShare = countTextTokens(text.slice(0, 256 * 1024));
    expect(estimate).toBeGreaterThan(exactShare * 3.5);
    expect(estimate).toBeLessThan(exactShare * 4.5);
  });

  it('scales counts for vendors whose tokenizers count more', () => {
    expect(tokensForVendor(100, 'openai')).toBe(100);
    expect(tokensForVendor(100, 'anthropic')).toBe(130);
    expect(tokensForVendor(100, 'gemini')).toBe(110);
  });
});

describe('DeliveredStream', () => {
  const event = (delta: object) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta }] })}\n\n`;

  it('counts the completion text of the events delivered, even split across chunks', () => {
    const stream = new DeliveredStream();
    const bytes = Buffer.from(event({ role: 'assistant', content: '' }) + event({ content: 'Hello' }) + event({ content: ' world' }) +
      event({ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }));
    stream.push(bytes.subarray(0, 37));
    stream.push(bytes.subarray(37));
    expect(stream.completionTokens()).toBe(countTextTokens('Hello world{"a"'));
  });

  it('ignores an event cut in the middle', () => {
    const stream = new DeliveredStream();
    stream.push(Buffer.from(`${event({ content: 'Hello' })}data: {"choices":[{"delta":{"content":"wor`));
    expect(stream.completionTokens()).toBe(1);
  });
});

describe('rate-limit headers', () => {
  it('formats reset durations like OpenAI', () => {
    expect(formatResetDuration(20)).toBe('20ms');
    expect(formatResetDuration(1500)).toBe('1.5s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(61_250)).toBe('1m1.25s');
  });

  it('reports, per kind, the scope with the least left', () => {
    const bucket = (scope: BucketSpec['scope'], kind: BucketSpec['kind'], limit: number): BucketSpec => ({ key: scope, scope, scopeId: scope, kind, limit });
    const headers = new Map(rateLimitHeaders(
      [bucket('key', 'requests', 60), bucket('key', 'tokens', 1000), bucket('team', 'tokens', 6000)],
      [59, 900, 600],
    ));
    expect(Object.fromEntries(headers)).toEqual({
      'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '6000', 'x-ratelimit-remaining-tokens': '600', 'x-ratelimit-reset-tokens': '54s',
    });
  });
});

describe('token counts of repeated texts', () => {
  it('are remembered exactly, and stay exact once more text than the memo keeps has gone through it', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    const system = 'You are a careful assistant. Answer in British English, cite sources, and never guess numbers.';
    const exact = (text: string) => countTokens(text, { disallowedSpecial: new Set() });
    expect(countTextTokens(system)).toBe(exact(system));
    expect(countTextTokens(system)).toBe(exact(system));
    // ~3 MiB of distinct texts push the first ones out of the 1 MiB memo.
    const texts = Array.from({ length: 200 }, (_, i) => `${i} `.repeat(8000));
    for (const text of texts) expect(countTextTokens(text)).toBe(exact(text));
    expect(countTextTokens(texts[0] as string)).toBe(exact(texts[0] as string));
    expect(countTextTokens(system)).toBe(exact(system));
  });
});
