import { describe, expect, it } from 'vitest';
import { eventData, SseFramer } from '../../../src/providers/shared/sse.ts';
import { OpenAIStreamTransformer } from '../../../src/providers/openai/stream.ts';

const chunk = (content: string) => `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}}}],"usage":null}\n\n`;
const usageChunk = 'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\n';
const done = 'data: [DONE]\n\n';

/** Feeds the stream split at every given byte offset, as Envoy's network reads would. */
function feed(transformer: OpenAIStreamTransformer, text: string, cuts: number[]): string {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts, bytes.length];
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) {
    const piece = bytes.subarray(edges[i], edges[i + 1]);
    const replaced = transformer.onChunk(piece, i === edges.length - 2);
    out += (replaced ?? piece).toString();
  }
  return out;
}

describe('SseFramer', () => {
  it('reassembles events split across chunks, including a UTF-8 character split in two', () => {
    const framer = new SseFramer();
    const text = Buffer.from('data: {"a":"é"}\n\ndata: [DONE]\n\n');
    const splitAt = text.indexOf(Buffer.from('é')) + 1;
    expect(framer.push(text.subarray(0, splitAt))).toEqual([]);
    expect(framer.push(text.subarray(splitAt))).toEqual(['data: {"a":"é"}', 'data: [DONE]']);
    expect(framer.flush()).toBe('');
  });

  it('joins multi-line data and ignores comments', () => {
    expect(eventData(': keep-alive\ndata: a\ndata: b')).toBe('a\nb');
    expect(eventData(': comment only')).toBeNull();
  });
});

describe('OpenAIStreamTransformer', () => {
  const stream = chunk('Hel') + chunk('lo') + usageChunk + done;

  it('passes chunks through untouched when the client asked for usage, and still reads the usage', () => {
    const transformer = new OpenAIStreamTransformer(false);
    const out = feed(transformer, stream, [10, 70, 150]);
    expect(out).toBe(stream);
    expect(transformer.usage).toEqual({ promptTokens: 5, completionTokens: 2, totalTokens: 7 });
    expect(transformer.truncated).toBe(false);
  });

  it('removes the usage chunk and the usage:null fields the client did not ask for, at any chunk boundary', () => {
    for (const cuts of [[], [1], [37, 38], [stream.length - 3], [60, 61, 62, 200]]) {
      const transformer = new OpenAIStreamTransformer(true);
      const out = feed(transformer, stream, cuts.filter((c) => c < stream.length));
      expect(out).toBe(chunk('Hel').replace(',"usage":null', '') + chunk('lo').replace(',"usage":null', '') + done);
      expect(transformer.usage?.totalTokens).toBe(7);
    }
  });

  it('appends an error event when the provider ends the stream without [DONE]', () => {
    const transformer = new OpenAIStreamTransformer(false);
    const out = feed(transformer, chunk('Hel'), [5]);
    expect(out.startsWith(chunk('Hel'))).toBe(true);
    const last = out.trim().split('\n\n').at(-1) ?? '';
    expect(JSON.parse(last.slice('data: '.length))).toMatchObject({ error: { code: 'stream_truncated', type: 'api_error' } });
    expect(transformer.truncated).toBe(true);
  });
});
