import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { splitMessagesFields } from '../../../src/messages/native-fields.ts';
import { countTokensToChat, messagesToChat } from '../../../src/messages/request.ts';
import { translateChatRequest } from '../../../src/providers/anthropic/request.ts';
import type { AnthropicProviderConfig } from '../../../src/config/types.ts';
import { validateRequest } from '../../fakes/anthropic/validate-request.ts';
import { validateChat } from '../../fakes/openai/validate-chat.ts';

const weather = { name: 'get_weather', description: 'The weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

/** A conversation using every block kind the chat form carries: system blocks, image, tool use and its result. */
const FULL = {
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Answer in English.' }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
    { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'sig' }, { type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '21 C' }] }, { type: 'text', text: 'And tomorrow?' }] },
  ],
  stop_sequences: ['END'],
  temperature: 0.5,
  top_p: 0.9,
  top_k: 40,
  metadata: { user_id: 'u-42' },
  tools: [weather],
  tool_choice: { type: 'any', disable_parallel_tool_use: true },
  stream: true,
};

const CHAT_FORM = {
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  stop: ['END'],
  temperature: 0.5,
  top_p: 0.9,
  user: 'u-42',
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: weather.input_schema } }],
  tool_choice: 'required',
  parallel_tool_calls: false,
  stream: true,
  stream_options: { include_usage: true },
  // Anthropic-only fields ride under the marker (src/messages/native-fields.ts).
  x_tollgate_messages: { top_k: 40 },
  messages: [
    { role: 'system', content: 'Be brief.\nAnswer in English.' },
    { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
    { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'toolu_1', content: '21 C' },
    { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
  ],
};

const anthropicConfig = { type: 'anthropic', base_url: 'http://x/v1', anthropic_version: '2023-06-01', default_max_tokens: 1024 } as unknown as AnthropicProviderConfig;

function errorOf(body: Record<string, unknown>): { status: number; message: string } {
  try {
    messagesToChat(body);
  } catch (error) {
    if (error instanceof GatewayError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('no error');
}

describe('Anthropic Messages request → chat form', () => {
  it('translates every field and block kind (golden)', () => {
    expect(messagesToChat(FULL)).toEqual(CHAT_FORM);
  });

  it('gives a chat body the strict OpenAI fake accepts (once the marker is taken off, as translateForProvider does)', () => {
    expect(() => validateChat(splitMessagesFields(messagesToChat(FULL)).body as Record<string, unknown>, new Set(['claude-sonnet-4-5']))).not.toThrow();
  });

  it('round-trips through the Anthropic adapter into a request the strict Anthropic fake accepts', () => {
    const back = translateChatRequest(messagesToChat(FULL), 'claude-sonnet-4-5', true, anthropicConfig);
    expect(() => validateRequest(back as unknown as Record<string, unknown>, new Set(['claude-sonnet-4-5']))).not.toThrow();
    expect(back).toMatchObject({
      system: 'Be brief.\nAnswer in English.', stop_sequences: ['END'], max_tokens: 256,
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    });
    expect(back.messages.map((m) => m.content.map((b) => b.type))).toEqual([['text', 'image'], ['text', 'tool_use'], ['tool_result', 'text']]);
  });

  it('keeps a plain string system prompt and string content; tool choices map word for word', () => {
    expect(messagesToChat({ model: 'm', max_tokens: 5, system: 'S', messages: [{ role: 'user', content: 'hi' }] })).toEqual({
      model: 'm', max_tokens: 5, messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'hi' }],
    });
    const choice = (tool_choice: unknown) => messagesToChat({ model: 'm', max_tokens: 5, tools: [weather], tool_choice, messages: [{ role: 'user', content: 'hi' }] }).tool_choice;
    expect(choice({ type: 'auto' })).toBe('auto');
    expect(choice({ type: 'none' })).toBe('none');
    expect(choice({ type: 'tool', name: 'get_weather' })).toEqual({ type: 'function', function: { name: 'get_weather' } });
  });

  it('marks a failed tool result and URL images', () => {
    const chat = messagesToChat({
      model: 'm', max_tokens: 5, messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'boom', is_error: true }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'Error: boom' },
    ]);
  });

  it('moves images a tool returned into the user message after the tool messages', () => {
    const chat = messagesToChat({
      model: 'm', max_tokens: 5, messages: [
        { role: 'user', content: 'look' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'screenshot', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'done' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }] },
      ],
    });
    expect((chat.messages as unknown[]).slice(2)).toEqual([
      { role: 'tool', tool_call_id: 't1', content: 'done' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
    ]);
  });

  it('refuses what Anthropic refuses, with its wording and the field path', () => {
    const ok = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    const { max_tokens: _max, ...noMax } = ok;
    expect(errorOf(noMax)).toEqual({ status: 400, message: 'max_tokens: Field required' });
    expect(errorOf({ ...ok, max_tokens: null })).toEqual({ status: 400, message: 'max_tokens: Input should be a valid integer' });
    expect(errorOf({ ...ok, max_tokens: -1 })).toEqual({ status: 400, message: 'max_tokens: Input should be a valid integer greater than or equal to 0' });
    expect(errorOf({ ...ok, n: 2 })).toEqual({ status: 400, message: 'n: Extra inputs are not permitted' });
    expect(errorOf({ ...ok, messages: undefined })).toEqual({ status: 400, message: 'messages: Field required' });
    expect(errorOf({ ...ok, messages: [{ role: 'system', content: 'x' }] })).toEqual({ status: 400, message: "messages.0.role: Input should be 'user' or 'assistant'" });
    expect(errorOf({ ...ok, messages: [{ role: 'user' }] })).toEqual({ status: 400, message: 'messages.0.content: Field required' });
    expect(errorOf({ ...ok, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }).message)
      .toBe('messages.0.content.0.type: tool_use blocks may only appear in assistant messages');
    expect(errorOf({ ...ok, temperature: 1.5 }).message).toBe('temperature: Input should be a number between 0 and 1');
    expect(errorOf({ ...ok, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }).message).toContain("tools.0.type: tool type 'web_search_20250305' is not supported");
    expect(errorOf({ ...ok, tool_choice: { type: 'maybe' } }).message).toBe("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
  });

  it('count_tokens bodies need no max_tokens', () => {
    const chat = countTokensToChat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat).toMatchObject({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat).not.toHaveProperty('max_tokens');
  });

  it('count_tokens takes the prompt\'s fields only, refusing max_tokens, stream and sampling fields as Anthropic does', () => {
    const ok = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    expect(countTokensToChat({ ...ok, system: 's', tools: [{ name: 't', input_schema: { type: 'object' } }], tool_choice: { type: 'auto' }, thinking: { type: 'enabled', budget_tokens: 1024 } }))
      .toMatchObject({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }], tools: [{ type: 'function' }], tool_choice: 'auto' });
    for (const field of ['max_tokens', 'stream', 'temperature', 'stop_sequences', 'metadata', 'bogus']) {
      let caught: unknown;
      try {
        countTokensToChat({ ...ok, [field]: 1 });
      } catch (error) {
        caught = error;
      }
      expect(caught, field).toMatchObject({ status: 400, message: `${field}: Extra inputs are not permitted` });
    }
  });
});
