import { describe, expect, it } from 'vitest';
import { messagesToChat } from '../../../src/messages/request.ts';
import { ChatToMessagesStream } from '../../../src/messages/to-messages-stream.ts';
import { answerChat } from '../../fakes/openai/completions.ts';
import { chatStreamFrames } from '../../fakes/openai/stream.ts';
import { validateChat } from '../../fakes/openai/validate-chat.ts';

const weather = { name: 'get_weather', input_schema: { type: 'object', properties: { echo: { type: 'string' } } } };

/** The strict OpenAI fake's real chat SSE for a Messages request's chat form. */
function chatStream(request: Record<string, unknown>): string {
  const chat = validateChat(messagesToChat({ model: 'gpt-4o-mini', max_tokens: 64, stream: true, ...request }), new Set(['gpt-4o-mini']));
  return chatStreamFrames(chat, answerChat(chat), { id: 0, call: 0 }).join('');
}

/** Feeds `text` to `push` cut at the given byte offsets (as Envoy's network reads would) and joins the output. */
function feed(push: (chunk: Buffer, end: boolean) => Buffer, text: string, cuts: number[]): string {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) out += push(bytes.subarray(edges[i], edges[i + 1]), i === edges.length - 2).toString();
  return out;
}

/** Anthropic's framing: `event: <type>` and a data line whose `type` repeats it, one blank line after each event. */
function events(sse: string): Array<Record<string, unknown>> {
  expect(sse.endsWith('\n\n')).toBe(true);
  return sse.slice(0, -2).split('\n\n').map((event) => {
    const [name, data, ...rest] = event.split('\n');
    expect(rest).toEqual([]);
    const parsed = JSON.parse((data ?? '').replace(/^data: /, '')) as Record<string, unknown>;
    expect(name).toBe(`event: ${String(parsed.type)}`);
    return parsed;
  });
}

const convert = (text: string, cuts: number[] = []) => feed((chunk, end) => stream.push(chunk, end), text, cuts);
let stream: ChatToMessagesStream;
const fresh = () => (stream = new ChatToMessagesStream({ requestId: 'req-1', model: 'fallback-model' }));

describe('chat stream → Anthropic stream events', () => {
  it('text: message_start, ping, one text block, message_delta with stop reason and usage, message_stop (golden)', () => {
    fresh();
    const out = events(convert(chatStream({ messages: [{ role: 'user', content: 'the quick brown fox' }] })));
    expect(out[0]).toEqual({
      type: 'message_start',
      message: {
        id: 'msg_req1', type: 'message', role: 'assistant', model: 'gpt-4o-mini', content: [], stop_reason: null, stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
    expect(out[1]).toEqual({ type: 'ping' });
    expect(out[2]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    const deltas = out.filter((e) => e.type === 'content_block_delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((e) => (e.delta as { text: string }).text).join('')).toBe('Echo: the quick brown fox');
    expect(deltas.every((e) => e.index === 0 && (e.delta as { type: string }).type === 'text_delta')).toBe(true);
    expect(out.slice(-3)).toEqual([
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 7, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
      { type: 'message_stop' },
    ]);
    expect(stream.outputTokens).toBe(5);
  });

  it('tool use: a tool_use block with input_json_delta pieces that join to the arguments, stop_reason tool_use', () => {
    fresh();
    const out = events(convert(chatStream({ tools: [weather], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Paris' }] })));
    expect(out[2]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} } });
    const json = out.filter((e) => e.type === 'content_block_delta').map((e) => e.delta as { type: string; partial_json: string });
    expect(json.every((d) => d.type === 'input_json_delta')).toBe(true);
    expect(JSON.parse(json.map((d) => d.partial_json).join(''))).toEqual({ echo: 'Paris' });
    expect(out.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'tool_use' } });
  });

  it('text then two tool calls: each a block of its own, indexes in order, every block closed', () => {
    fresh();
    const chunk = (delta: unknown, finish: string | null = null) => `data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const sse = chunk({ role: 'assistant', content: 'Checking.' })
      + chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'a', arguments: '{"x":' } }] })
      + chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] })
      + chunk({ tool_calls: [{ index: 1, id: 'c2', function: { name: 'b', arguments: '{}' } }] })
      + chunk({}, 'tool_calls') + 'data: [DONE]\n\n';
    const out = events(convert(sse)).map((e) => `${String(e.type)}${e.index === undefined ? '' : `#${String(e.index)}`}`);
    expect(out).toEqual([
      'message_start', 'ping',
      'content_block_start#0', 'content_block_delta#0', 'content_block_stop#0',
      'content_block_start#1', 'content_block_delta#1', 'content_block_delta#1', 'content_block_stop#1',
      'content_block_start#2', 'content_block_delta#2', 'content_block_stop#2',
      'message_delta', 'message_stop',
    ]);
  });

  it('an Anthropic provider\'s own stop reason (stop_sequence and which) wins over the one finish_reason gives', () => {
    stream = new ChatToMessagesStream({ requestId: 'req-1', model: 'm', stop: () => ({ reason: 'stop_sequence', sequence: 'STOP' }) });
    const out = events(convert(chatStream({ messages: [{ role: 'user', content: 'hello' }] })));
    expect(out.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'stop_sequence', stop_sequence: 'STOP' } });
  });

  it('the provider\'s own usage wins over the chat usage chunk: an Anthropic provider\'s prompt-cache writes and reads are reported apart', () => {
    stream = new ChatToMessagesStream({
      requestId: 'req-1', model: 'm',
      usage: () => ({ promptTokens: 1200, completionTokens: 5, totalTokens: 1205, cacheWriteTokens: 1100, cachedPromptTokens: 50 }),
    });
    const out = events(convert(chatStream({ messages: [{ role: 'user', content: 'hello' }] })));
    expect(out.at(-2)).toMatchObject({
      type: 'message_delta', usage: { input_tokens: 50, output_tokens: 5, cache_creation_input_tokens: 1100, cache_read_input_tokens: 50 },
    });
  });

  it('extended thinking pieces become a thinking block with thinking_delta and signature_delta, before the text', () => {
    fresh();
    const chunk = (delta: unknown, finish: string | null = null) => `data: ${JSON.stringify({ id: 'msg_1', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const sse = chunk({ role: 'assistant', content: '' })
      + chunk({ reasoning_content: 'Let me', thinking_blocks: [{ type: 'thinking', thinking: 'Let me' }] })
      + chunk({ reasoning_content: ' think.', thinking_blocks: [{ type: 'thinking', thinking: ' think.' }] })
      + chunk({ thinking_blocks: [{ type: 'thinking', signature: 'c2ln' }] })
      + chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: 'enc' }] })
      + chunk({ content: 'Answer.' }) + chunk({}, 'stop') + 'data: [DONE]\n\n';
    const out = events(convert(sse)).filter((e) => String(e.type).startsWith('content_block'));
    expect(out).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: ' think.' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'redacted_thinking', data: 'enc' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Answer.' } },
      { type: 'content_block_stop', index: 2 },
    ]);
  });

  it('gives the same events whatever the network splits: every single byte boundary, and one byte at a time', () => {
    const text = chatStream({ messages: [{ role: 'user', content: 'naïve café – ünïcödé text' }] });
    fresh();
    const whole = convert(text);
    const length = Buffer.byteLength(text);
    for (let cut = 1; cut < length; cut++) {
      fresh();
      expect(convert(text, [cut])).toBe(whole);
    }
    fresh();
    expect(convert(text, Array.from({ length }, (_, i) => i))).toBe(whole);
  });

  it('an error event mid-stream becomes an Anthropic error event, with the provider\'s own type when it was Anthropic', () => {
    fresh();
    const head = chatStream({ messages: [{ role: 'user', content: 'hello' }] }).split('\n\n').slice(0, 3).join('\n\n') + '\n\n';
    const error = `data: ${JSON.stringify({ error: { message: 'Overloaded', type: 'api_error', code: 'overloaded_error', param: null } })}\n\n`;
    const out = events(convert(head + error));
    expect(out.at(-1)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(out.map((e) => e.type)).not.toContain('message_stop');
  });

  it('a stream that ends without [DONE] ends with an error event, never message_stop', () => {
    fresh();
    const cut = chatStream({ messages: [{ role: 'user', content: 'hello' }] }).split('\n\n').slice(0, 3).join('\n\n') + '\n\n';
    const out = events(convert(cut));
    expect(out.at(-1)).toEqual({ type: 'error', error: { type: 'api_error', message: 'The provider ended the stream before it was complete.' } });
  });
});
