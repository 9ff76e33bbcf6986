import { describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../../src/providers/gemini/adapter.ts';
import type { ResponseInfo, ResponseTranslator } from '../../../src/providers/provider-adapter.ts';

function info(overrides: Partial<ResponseInfo> = {}): ResponseInfo {
  return { endpoint: 'chat', stream: true, status: 200, clientWantsUsage: false, requestId: 'req-9', createdAt: 1_700_000_000, upstreamModel: 'gemini-2.5-flash', ...overrides };
}

/** Gemini's SSE framing: one whole GenerateContentResponse per event, CRLF line ends. */
const event = (body: unknown): string => `data: ${JSON.stringify(body)}\r\n\r\n`;
const textEvent = (text: string, extra: Record<string, unknown> = {}) => event({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...extra }],
  usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
  modelVersion: 'gemini-2.5-flash-001',
  responseId: 'resp-1',
});
const FINAL_USAGE = { promptTokenCount: 7, candidatesTokenCount: 5, thoughtsTokenCount: 2, totalTokenCount: 14 };
// Multi-byte characters make byte offsets fall inside UTF-8 sequences too.
const TEXT_STREAM = textEvent('Héllo') + textEvent(', wörld') + event({
  candidates: [{ content: { role: 'model', parts: [{ text: ' 👋' }] }, finishReason: 'STOP', index: 0 }],
  usageMetadata: FINAL_USAGE,
  modelVersion: 'gemini-2.5-flash-001',
  responseId: 'resp-1',
});

/** Feeds the stream split at the given byte offsets (the last call has endOfStream) and returns the client's bytes. */
function feed(translator: ResponseTranslator, text: string, cuts: number[]): string {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) {
    const piece = bytes.subarray(edges[i], edges[i + 1]);
    out += (translator.onChunk(piece, i === edges.length - 2) ?? piece).toString();
  }
  return out;
}

interface Chunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{ index: number; delta: Record<string, unknown>; finish_reason: string | null }>;
  usage?: Record<string, unknown>;
  error?: { code: string };
}

function events(out: string): string[] {
  expect(out.endsWith('\n\n')).toBe(true);
  return out.slice(0, -2).split('\n\n').map((e) => {
    expect(e.startsWith('data: ')).toBe(true);
    return e.slice('data: '.length);
  });
}
const chunks = (out: string): Chunk[] => events(out).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Chunk);

describe('Gemini stream → chat.completion.chunk', () => {
  it('translates event by event at any split, text reassembling exactly, [DONE] last', () => {
    const whole = feed(geminiAdapter.translateResponse(info()), TEXT_STREAM, []);
    const bytes = Buffer.byteLength(TEXT_STREAM);
    const splits: number[][] = [[1], [bytes - 1], [2, 3, 4, 5, 6]];
    for (let offset = 1; offset < bytes; offset += 7) splits.push([offset]);
    for (let offset = 3; offset < bytes; offset += 29) splits.push([offset, offset + 1, offset + 13]);
    splits.push(Array.from({ length: bytes - 1 }, (_, i) => i + 1)); // one byte at a time
    for (const cuts of splits) {
      const translator = geminiAdapter.translateResponse(info());
      expect(feed(translator, TEXT_STREAM, cuts)).toBe(whole);
      expect(translator.usage).toEqual({ promptTokens: 7, completionTokens: 7, totalTokens: 14, reasoningTokens: 2 });
      expect(translator.truncated).toBe(false);
    }
    const list = chunks(whole);
    expect(list.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Héllo, wörld 👋');
    expect(list[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: 'Héllo' });
    expect(list.slice(1).every((c) => !('role' in (c.choices[0]?.delta ?? {})))).toBe(true);
    expect(list.every((c) => c.id === 'chatcmpl-resp-1' && c.object === 'chat.completion.chunk' && c.created === 1_700_000_000 && c.model === 'gemini-2.5-flash-001')).toBe(true);
    expect(list.at(-1)?.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    expect(list.some((c) => 'usage' in c)).toBe(false);
    expect(events(whole).at(-1)).toBe('[DONE]');
  });

  it('adds the usage chunk (choices: []) before [DONE] only when the client asked for usage', () => {
    const out = feed(geminiAdapter.translateResponse(info({ clientWantsUsage: true })), TEXT_STREAM, [50, 51, 200]);
    const data = events(out);
    expect(data.at(-1)).toBe('[DONE]');
    const usageChunk = JSON.parse(data.at(-2) ?? '') as Chunk;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({ prompt_tokens: 7, completion_tokens: 7, total_tokens: 14, completion_tokens_details: { reasoning_tokens: 2 } });
    expect(chunks(out).filter((c) => c.usage)).toHaveLength(1);
  });

  it('streams function calls as complete tool_calls deltas and finishes with tool_calls', () => {
    const stream = event({
      candidates: [{
        content: { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }, { functionCall: { name: 'time', args: {} } }] },
        finishReason: 'STOP',
        index: 0,
      }],
      usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 },
    });
    const translator = geminiAdapter.translateResponse(info({ clientWantsUsage: true }));
    const list = chunks(feed(translator, stream, [17, 80]));
    expect(list[0]?.id).toBe('chatcmpl-req-9');
    expect(list[0]?.choices[0]).toEqual({
      index: 0,
      delta: {
        role: 'assistant',
        content: null,
        tool_calls: [
          { index: 0, id: 'call_req9_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { index: 1, id: 'call_req9_2', type: 'function', function: { name: 'time', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: null,
    });
    expect(list[1]?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(list[2]?.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    expect(translator.usage?.totalTokens).toBe(7);
  });

  it('keeps several candidates apart and is complete only when all finished', () => {
    const both = (a: string, b: string, finish?: string) => event({
      candidates: [0, 1].map((index) => ({ content: { parts: [{ text: index === 0 ? a : b }] }, index, ...(finish ? { finishReason: finish } : {}) })),
    });
    const out = feed(geminiAdapter.translateResponse(info()), both('a1', 'b1') + both('a2', 'b2', 'MAX_TOKENS'), [30]);
    const list = chunks(out);
    const text = (index: number) => list.map((c) => (c.choices[0]?.index === index ? c.choices[0]?.delta.content ?? '' : '')).join('');
    expect([text(0), text(1)]).toEqual(['a1a2', 'b1b2']);
    expect(list.filter((c) => c.choices[0]?.finish_reason === 'length').map((c) => c.choices[0]?.index)).toEqual([0, 1]);
    expect(events(out).at(-1)).toBe('[DONE]');
  });

  it('ends a stream cut before any finishReason with an error event, never [DONE]', () => {
    const cut = textEvent('Hel') + textEvent('lo');
    for (const cuts of [[], [10], [cut.length - 2]]) {
      const translator = geminiAdapter.translateResponse(info({ clientWantsUsage: true }));
      const out = feed(translator, cut, cuts);
      const data = events(out);
      expect(data).not.toContain('[DONE]');
      expect(JSON.parse(data.at(-1) ?? '')).toEqual({ error: { message: 'The provider ended the stream before it was complete.', type: 'api_error', code: 'stream_truncated', param: null } });
      expect(chunks(out).map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe('Hello');
      expect(translator.truncated).toBe(true);
    }
    const empty = geminiAdapter.translateResponse(info());
    expect(JSON.parse(events(feed(empty, '', [])).at(-1) ?? '').error.code).toBe('stream_truncated');
    expect(empty.truncated).toBe(true);
  });

  it('passes an error Google reports inside the stream on as one OpenAI error event', () => {
    const translator = geminiAdapter.translateResponse(info());
    const out = feed(translator, textEvent('Hi') + event({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }), []);
    const data = events(out);
    expect(JSON.parse(data.at(-1) ?? '')).toEqual({ error: { message: 'The model is overloaded.', type: 'api_error', code: 'UNAVAILABLE', param: null } });
    expect(data.filter((d) => d.includes('"error"'))).toHaveLength(1);
    expect(translator.truncated).toBe(true);
  });

  it('finishes a blocked prompt with content_filter, as a complete stream', () => {
    const translator = geminiAdapter.translateResponse(info());
    const out = feed(translator, event({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } }), [5]);
    const list = chunks(out);
    expect(list.map((c) => c.choices[0]?.finish_reason)).toEqual([null, 'content_filter']);
    expect(events(out).at(-1)).toBe('[DONE]');
    expect(translator.truncated).toBe(false);
    expect(translator.usage).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 });
  });
});
