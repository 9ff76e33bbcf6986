import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import type { OutgoingRequest, ResponseInfo } from '../../../src/providers/provider-adapter.ts';
import { startFakeAnthropic } from '../../fakes/anthropic-provider.ts';
import type { FakeAnthropic } from '../../fakes/anthropic-provider.ts';
import { feed, responseInfo, seededRandom, send, sseData, translate } from './anthropic-fixtures.ts';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake.close();
});

const PROMPT = 'héllo wörld ✓ streaming  in   pieces';
const streamInfo = (overrides: Partial<ResponseInfo> = {}) => responseInfo({ stream: true, ...overrides });

/** The fake's real SSE bytes for a chat body translated to Anthropic. */
async function anthropicStream(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Buffer> {
  const { status, bytes } = await send(fake.url, translate({ stream: true, ...body }), headers);
  expect(status).toBe(200);
  return bytes;
}

/** What arrives of a response before the fake kills the socket (fetch would throw the bytes away). */
function receiveUntilReset(outgoing: OutgoingRequest, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const req = http.request(`${fake.url}${outgoing.path}`, { method: 'POST', headers: { ...outgoing.headers, ...headers } }, (res) => {
      res.on('data', (c: Buffer) => received.push(c));
      res.on('error', () => undefined);
      res.on('close', () => resolve(Buffer.concat(received)));
    });
    req.on('error', reject);
    req.end(JSON.stringify(outgoing.body));
  });
}

function chunksOf(out: string): { chunks: ChatCompletionChunk[]; last: unknown } {
  const data = sseData(out);
  return { chunks: data.filter((d): d is ChatCompletionChunk => typeof d === 'object' && d !== null && 'choices' in d), last: data.at(-1) };
}

function cutSets(length: number): number[][] {
  const random = seededRandom(42);
  const sets: number[][] = [[]];
  // Every single cut point, then many random multi-cuts (including one-byte pieces).
  for (let c = 1; c < length; c++) sets.push([c]);
  for (let i = 0; i < 200; i++) sets.push(Array.from({ length: 1 + Math.floor(random() * 30) }, () => Math.floor(random() * length)));
  sets.push(Array.from({ length }, (_, i) => i));
  return sets;
}

describe('Anthropic stream → chat.completion.chunk', () => {
  it('reassembles the original text at every split, with one id/created/model, [DONE] last and usage right', async () => {
    const bytes = await anthropicStream({ messages: [{ role: 'user', content: PROMPT }] });
    expect(bytes.toString()).toContain('event: ping');
    for (const cuts of cutSets(bytes.length)) {
      const translator = anthropicAdapter.translateResponse(streamInfo());
      const out = feed(translator, bytes, cuts);
      const { chunks, last } = chunksOf(out);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(`Echo: ${PROMPT}`);
      expect(last).toBe('[DONE]');
      expect(translator.truncated).toBe(false);
      expect(translator.usage).toEqual({ promptTokens: 9, completionTokens: 7, totalTokens: 16 });
      const first = chunks[0];
      expect(first?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
      for (const c of chunks) expect([c.id, c.object, c.created, c.model]).toEqual([first?.id, 'chat.completion.chunk', 1_700_000_000, 'claude-haiku-4-5']);
      expect(first?.id).toMatch(/^msg_fake/);
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
      expect(chunks.some((c) => 'usage' in c)).toBe(false);
    }
  });

  it('adds a usage chunk (choices: []) before [DONE] only when the client asked for usage', async () => {
    const bytes = await anthropicStream({ messages: [{ role: 'user', content: 'one two three' }], max_tokens: 3 });
    const translator = anthropicAdapter.translateResponse(streamInfo({ clientWantsUsage: true }));
    const { chunks, last } = chunksOf(feed(translator, bytes, [50, 400]));
    expect(last).toBe('[DONE]');
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual({ prompt_tokens: 6, completion_tokens: 3, total_tokens: 9, prompt_tokens_details: { cached_tokens: 0 } });
    // Like OpenAI with include_usage: every other chunk carries usage: null.
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: one two');
  });

  it('streams a tool call: id and name first, then the arguments in pieces, finish_reason tool_calls', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { echo: { type: 'string' } } } } }];
    const bytes = await anthropicStream({ messages: [{ role: 'user', content: 'weather in Paris' }], tools, tool_choice: 'required' });
    for (const cuts of [[], [17], [100, 101, 102, 600]]) {
      const translator = anthropicAdapter.translateResponse(streamInfo());
      const { chunks, last } = chunksOf(feed(translator, bytes, cuts));
      const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      expect(calls[0]).toEqual({ index: 0, id: expect.stringMatching(/^toolu_fake\d+$/), type: 'function', function: { name: 'lookup', arguments: '' } });
      expect(calls.every((c) => c.index === 0)).toBe(true);
      expect(JSON.parse(calls.map((c) => c.function?.arguments ?? '').join(''))).toEqual({ echo: 'weather in Paris' });
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
      expect(last).toBe('[DONE]');
    }
  });

  it('numbers tool calls by OpenAI index even after text and thinking blocks; for a Messages client thinking rides as thinking_blocks', () => {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const stream =
      ev('message_start', { message: { id: 'msg_x', model: 'claude-x', usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 } } }) +
      ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }) +
      ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }) +
      ev('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }) +
      ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Checking.' } }) +
      ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_a', name: 'a', input: {} } }) +
      ev('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"x":1}' } }) +
      ev('content_block_start', { index: 3, content_block: { type: 'tool_use', id: 'toolu_b', name: 'b', input: {} } }) +
      ev('content_block_delta', { index: 3, delta: { type: 'input_json_delta', partial_json: '{}' } }) +
      ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } }) +
      ev('message_stop', {});
    const translator = anthropicAdapter.translateResponse(streamInfo({ thinkingBlocks: true }));
    const { chunks } = chunksOf(feed(translator, Buffer.from(stream), [33]));
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      // The Messages dialect turns these back into thinking blocks.
      { reasoning_content: 'hmm', thinking_blocks: [{ type: 'thinking', thinking: 'hmm' }] },
      { content: 'Checking.' },
      { tool_calls: [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'a', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] },
      { tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'b', arguments: '' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      {},
    ]);
    expect(chunks.every((c) => c.id === 'msg_x' && c.model === 'claude-x')).toBe(true);
    expect(translator.usage).toEqual({ promptTokens: 15, completionTokens: 30, totalTokens: 45, cachedPromptTokens: 5 });
    // An OpenAI client (reasoning_effort) never gets the thinking.
    const openai = chunksOf(feed(anthropicAdapter.translateResponse(streamInfo()), Buffer.from(stream), [33])).chunks;
    expect(JSON.stringify(openai)).not.toContain('hmm');
    expect(openai.map((c) => c.choices[0]?.delta).slice(1, 2)).toEqual([{ content: 'Checking.' }]);
  });

  it('translates chunk by chunk: each complete event leaves as soon as it arrives', async () => {
    const bytes = await anthropicStream({ messages: [{ role: 'user', content: 'a b c' }] });
    const events = bytes.toString().split(/(?<=\n\n)/);
    const translator = anthropicAdapter.translateResponse(streamInfo());
    const outputs = events.map((e, i) => (translator.onChunk(Buffer.from(e), i === events.length - 1) ?? Buffer.alloc(0)).toString());
    expect(outputs[0]).toContain('"role":"assistant"');
    const deltas = events.map((e, i) => [e.split('\n')[0], outputs[i]] as const).filter(([name]) => name === 'event: content_block_delta');
    expect(deltas.length).toBeGreaterThan(2);
    for (const [, out] of deltas) expect(out).toMatch(/^data: .*"content":/);
  });

  it('a stream cut without message_stop ends with the stream_truncated error event, never [DONE]', async () => {
    const partial = await receiveUntilReset(translate({ stream: true, messages: [{ role: 'user', content: 'a b c d e f' }] }), { 'x-fake-fault': 'cut-stream=5' });
    expect(partial.toString()).toContain('event: message_start');
    expect(partial.toString()).not.toContain('message_stop');
    for (const cuts of [[], [20], [1, 2, 3, 250]]) {
      const translator = anthropicAdapter.translateResponse(streamInfo());
      const data = sseData(feed(translator, partial, cuts));
      expect(data).not.toContain('[DONE]');
      expect(data.at(-1)).toEqual({ error: { message: 'The provider ended the stream before it was complete.', type: 'api_error', code: 'stream_truncated', param: null } });
      expect(translator.truncated).toBe(true);
      // What was consumed before the cut is still metered.
      expect(translator.usage?.promptTokens).toBe(9);
    }
  });

  it('event: error mid-stream becomes an OpenAI-shaped error event and ends the stream (truncated)', async () => {
    const bytes = await anthropicStream({ messages: [{ role: 'user', content: 'a b c d e f' }] }, { 'x-fake-fault': 'error-mid-stream=4' });
    expect(bytes.toString()).toContain('event: error');
    const translator = anthropicAdapter.translateResponse(streamInfo({ clientWantsUsage: true }));
    const data = sseData(feed(translator, bytes, [100]));
    expect(data).not.toContain('[DONE]');
    expect(data.at(-1)).toEqual({ error: { message: 'Overloaded', type: 'api_error', code: 'overloaded_error', param: null } });
    expect(data.filter((d) => typeof d === 'object' && d !== null && 'error' in d)).toHaveLength(1);
    expect(translator.truncated).toBe(true);
  });
});
