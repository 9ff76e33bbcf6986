import { describe, expect, it } from 'vitest';
import { answerFromEntry, defaultAnswer, jsonAnswer, sseAnswer, type CacheEntry } from '../../../src/cache/cache-entry.ts';

const chunk = (delta: object, extra: object = {}) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }], ...extra });
const usageChunk = JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
const sse = (...payloads: string[]) => payloads.map((p) => `data: ${p}\n\n`).join('');
const usage = { promptTokens: 3, completionTokens: 2, totalTokens: 5 };

function asEntry(answer: NonNullable<ReturnType<typeof sseAnswer>>): CacheEntry {
  return { ...answer, provider: 'p', storedAt: 0, expiresAt: 1, staleUntil: 1 };
}

describe('cache entries', () => {
  it('stores chat completions only', () => {
    expect(jsonAnswer('{"object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}')?.usage?.totalTokens).toBe(2);
    expect(jsonAnswer('{"error":{"message":"x"}}')).toBeNull();
    expect(jsonAnswer('not json')).toBeNull();
  });

  it('refuses streams without [DONE], with an error event, or with data after [DONE]', () => {
    expect(sseAnswer(sse(chunk({ content: 'a' })), usage)).toBeNull();
    expect(sseAnswer(sse(chunk({ content: 'a' }), '{"error":{"message":"cut"}}', '[DONE]'), usage)).toBeNull();
    expect(sseAnswer(sse(chunk({ content: 'a' }), '[DONE]', chunk({ content: 'b' })), usage)).toBeNull();
  });

  it('replays the same chunks, the usage chunk only when asked, then [DONE]', () => {
    const stored = sseAnswer(sse(chunk({ content: 'a' }, { usage: null }), chunk({ content: 'b' }), usageChunk, '[DONE]'), usage);
    expect(stored?.events).toEqual([chunk({ content: 'a' }), chunk({ content: 'b' })]);
    const entry = asEntry(stored!);
    expect(answerFromEntry(entry, 'hit', false, 0).body).toBe(sse(chunk({ content: 'a' }), chunk({ content: 'b' }), '[DONE]'));
    expect(answerFromEntry(entry, 'hit', true, 0).body).toBe(sse(chunk({ content: 'a' }), chunk({ content: 'b' }), usageChunk, '[DONE]'));
    expect(answerFromEntry(entry, 'stale', false, 0).headers['x-tollgate-cache']).toBe('stale');
  });

  it('rebuilds the usage chunk from the provider usage when the client that filled the entry did not see one', () => {
    const stored = sseAnswer(sse(chunk({ content: 'a' }), '[DONE]'), usage);
    expect(JSON.parse(stored?.usageEvent ?? '{}')).toEqual({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
  });

  it('renders the default response as a completion or a stream', () => {
    const options = { model: 'gpt', requestId: 'r1', createdAt: 5, stream: false, wantsUsage: false };
    const json = JSON.parse(defaultAnswer('Busy.', options).body) as { choices: Array<{ message: { content: string } }> };
    expect(json.choices[0]?.message.content).toBe('Busy.');
    const stream = defaultAnswer('Busy.', { ...options, stream: true });
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(stream.headers['x-tollgate-cache']).toBe('default');
  });
});
