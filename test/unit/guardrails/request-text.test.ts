import { describe, expect, it } from 'vitest';
import { requestTexts, rewriteRequestText } from '../../../src/guardrails/pii/request-text.ts';

describe('request text walker', () => {
  const chat = () => ({
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: [{ type: 'text', text: 'part one' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'lookup', arguments: '{"q":"args"}' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'tool result' },
    ],
    user: 'not prompt text',
  });

  it('reads message contents, text parts and tool-call arguments, nothing else', () => {
    expect(requestTexts(chat())).toEqual(['You are helpful.', 'part one', '{"q":"args"}', 'tool result']);
  });

  it('reads embeddings input given as a string or an array of strings', () => {
    expect(requestTexts({ model: 'e', input: 'one' })).toEqual(['one']);
    expect(requestTexts({ model: 'e', input: ['a', 'b', 'a'] })).toEqual(['a', 'b', 'a']);
    expect(requestTexts({ model: 'e', input: [1, 2, 3] })).toEqual([]);
  });

  it('rewrites in place, each occurrence on its own', () => {
    const body = chat();
    rewriteRequestText(body, (text) => text.toUpperCase());
    expect(body.messages[1]).toEqual({ role: 'user', content: [{ type: 'text', text: 'PART ONE' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] });
    expect(body.messages[2]?.tool_calls?.[0]?.function.arguments).toBe('{"Q":"ARGS"}');
    expect(body.user).toBe('not prompt text');
    const embeddings = { model: 'e', input: ['a', 'b', 'a'] };
    let calls = 0;
    rewriteRequestText(embeddings, (text) => (text === 'a' ? `${text}${(calls += 1)}` : text));
    expect(embeddings.input).toEqual(['a1', 'b', 'a2']);
  });
});
