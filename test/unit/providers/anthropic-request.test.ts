import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import { anthropicProviderSchema } from '../../../src/providers/anthropic/config-schema.ts';
import { CONVERSATION_START } from '../../../src/providers/anthropic/messages.ts';
import { translate, target } from './anthropic-fixtures.ts';

const user = (content: unknown) => ({ role: 'user', content });
const assistant = (content: unknown, extra: Record<string, unknown> = {}) => ({ role: 'assistant', content, ...extra });
const text = (t: string) => ({ type: 'text', text: t });

function rejection(body: Record<string, unknown>): GatewayError {
  try {
    translate(body);
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('expected a GatewayError');
}

describe('Anthropic request translation: the call', () => {
  it('targets /v1/messages with x-api-key and anthropic-version, and removes the client Authorization', () => {
    const out = translate({ model: 'claude', messages: [user('hi')] });
    expect(out.path).toBe('/v1/messages');
    expect(out.headers).toEqual({ 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' });
    expect(out.removeHeaders).toEqual(['authorization']);
    expect(out.body).toEqual({ model: 'claude-haiku-4-5', max_tokens: 4096, messages: [{ role: 'user', content: [text('hi')] }] });

    const bare = anthropicAdapter.translateRequest({ endpoint: 'chat', body: { messages: [user('x')] }, stream: false, target: target({ basePath: '' }) });
    expect(bare.path).toBe('/messages');
  });

  it('refuses embeddings with 400 model_not_supported', () => {
    let err: unknown;
    try {
      anthropicAdapter.translateRequest({ endpoint: 'embeddings', body: { input: 'x' }, stream: false, target: target() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 400, code: 'model_not_supported', type: 'invalid_request_error' });
  });

  it('max_tokens: max_completion_tokens wins over max_tokens, else the provider default', () => {
    expect(translate({ messages: [user('x')], max_tokens: 10 }).body.max_tokens).toBe(10);
    expect(translate({ messages: [user('x')], max_tokens: 10, max_completion_tokens: 20 }).body.max_tokens).toBe(20);
    expect(translate({ messages: [user('x')], max_tokens: null }).body.max_tokens).toBe(4096);
  });

  it('maps sampling, stop, user and stream; drops what has no counterpart', () => {
    const out = translate({
      model: 'm', messages: [user('x')], temperature: 0.5, top_p: 0.9, stop: 'END', user: 'u-42', stream: true,
      stream_options: { include_usage: true }, presence_penalty: 1, frequency_penalty: 1, seed: 7, logit_bias: { 1: 2 },
      metadata: { a: 'b' }, store: true, service_tier: 'auto', n: 1, logprobs: false, response_format: { type: 'text' },
    });
    expect(out.body).toEqual({
      model: 'claude-haiku-4-5', max_tokens: 4096, messages: [{ role: 'user', content: [text('x')] }],
      temperature: 0.5, top_p: 0.9, stop_sequences: ['END'], metadata: { user_id: 'u-42' }, stream: true,
    });
    expect(translate({ messages: [user('x')], stop: ['a', 'b'] }).body.stop_sequences).toEqual(['a', 'b']);
    expect(translate({ messages: [user('x')], stream: false }).body).not.toHaveProperty('stream');
  });

  it('rejects with a clear 400 what Anthropic cannot do', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ n: 2 }, 'n'],
      [{ logprobs: true }, 'logprobs'],
      [{ top_logprobs: 2 }, 'top_logprobs'],
      [{ temperature: 1.5 }, 'temperature'],
      [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'array' } } } }, 'response_format.json_schema.schema'],
      [{ modalities: ['text', 'audio'] }, 'modalities'],
      [{ functions: [{ name: 'f' }] }, 'functions'],
    ];
    for (const [extra, param] of cases) {
      const err = rejection({ messages: [user('x')], ...extra });
      expect([err.status, err.param]).toEqual([400, param]);
      expect(err.message.length).toBeGreaterThan(10);
    }
  });
});

describe('Anthropic request translation: the conversation', () => {
  it('lifts system and developer messages into system (one → string, several → blocks)', () => {
    expect(translate({ messages: [{ role: 'system', content: 'be brief' }, user('hi')] }).body.system).toBe('be brief');
    const several = translate({
      messages: [
        { role: 'system', content: 'be brief' },
        user('hi'),
        { role: 'developer', content: [text('use French'), text('no emoji')] },
        assistant('salut'),
        user('encore'),
      ],
    }).body;
    expect(several.system).toEqual([text('be brief'), text('use French'), text('no emoji')]);
    expect(several.messages).toEqual([
      { role: 'user', content: [text('hi')] },
      { role: 'assistant', content: [text('salut')] },
      { role: 'user', content: [text('encore')] },
    ]);
  });

  it('merges consecutive same-role messages so roles alternate', () => {
    const body = translate({ messages: [user('a'), user([text('b'), text('c')]), assistant('d'), assistant('e'), user('f')] }).body;
    expect(body.messages).toEqual([
      { role: 'user', content: [text('a'), text('b'), text('c')] },
      { role: 'assistant', content: [text('d'), text('e')] },
      { role: 'user', content: [text('f')] },
    ]);
  });

  it('opens with a minimal user turn when the conversation starts with the assistant or has only a system prompt', () => {
    expect(translate({ messages: [assistant('Hello! How can I help?'), user('hi')] }).body.messages).toEqual([
      { role: 'user', content: [text(CONVERSATION_START)] },
      { role: 'assistant', content: [text('Hello! How can I help?')] },
      { role: 'user', content: [text('hi')] },
    ]);
    const onlySystem = translate({ messages: [{ role: 'system', content: 'say hi' }] }).body;
    expect(onlySystem.messages).toEqual([{ role: 'user', content: [text(CONVERSATION_START)] }]);
  });

  it('drops empty messages and trims the whitespace Anthropic refuses at the end of a final assistant turn', () => {
    const body = translate({ messages: [user('a'), user('   '), assistant(null), assistant('The answer is ')] }).body;
    expect(body.messages).toEqual([
      { role: 'user', content: [text('a')] },
      { role: 'assistant', content: [text('The answer is')] },
    ]);
  });

  it('turns assistant tool_calls into tool_use blocks and tool messages into tool_result blocks in one user turn', () => {
    const body = translate({
      messages: [
        user('weather in Paris and Rome?'),
        assistant(null, {
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '' } },
          ],
        }),
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: [text('rain')] },
        user('thanks'),
      ],
    }).body;
    expect(body.messages).toEqual([
      { role: 'user', content: [text('weather in Paris and Rome?')] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [text('rain')] },
          text('thanks'),
        ],
      },
    ]);
    const bad = rejection({ messages: [user('x'), assistant(null, { tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }] })] });
    expect(bad.param).toBe('messages[1].tool_calls[0].function.arguments');
  });

  it('translates images: data URLs to base64 sources, http(s) URLs to url sources', () => {
    const body = translate({
      messages: [user([
        text('what is this?'),
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
      ])],
    }).body;
    expect(body.messages).toEqual([{
      role: 'user',
      content: [
        text('what is this?'),
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
      ],
    }]);
    expect(rejection({ messages: [user([{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AAAA' } }])] }).param).toBe('messages[0].content[0].image_url.url');
    expect(rejection({ messages: [user([{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }])] }).status).toBe(400);
    expect(rejection({ messages: [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])] }).param).toBe('messages[0].content[0]');
  });
});

describe('Anthropic request translation: tools', () => {
  const tools = [
    { type: 'function', function: { name: 'weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true } },
    { type: 'function', function: { name: 'now' } },
  ];

  it('maps function tools to name/description/input_schema', () => {
    expect(translate({ messages: [user('x')], tools }).body.tools).toEqual([
      { name: 'weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
  });

  it('maps tool_choice auto/none/required/function and parallel_tool_calls:false', () => {
    const choice = (tool_choice: unknown, extra: Record<string, unknown> = {}) => translate({ messages: [user('x')], tools, tool_choice, ...extra }).body.tool_choice;
    expect(choice('auto')).toEqual({ type: 'auto' });
    expect(choice('none')).toEqual({ type: 'none' });
    expect(choice('required')).toEqual({ type: 'any' });
    expect(choice({ type: 'function', function: { name: 'now' } })).toEqual({ type: 'tool', name: 'now' });
    expect(choice(undefined)).toBeUndefined();
    expect(choice(undefined, { parallel_tool_calls: false })).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(choice('required', { parallel_tool_calls: false })).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(choice('none', { parallel_tool_calls: false })).toEqual({ type: 'none' });
    expect(choice('auto', { parallel_tool_calls: true })).toEqual({ type: 'auto' });
  });

  it('sends no tool_choice without tools (Anthropic has nothing to choose from)', () => {
    const body = translate({ messages: [user('x')], tool_choice: 'none', parallel_tool_calls: false }).body;
    expect(body).not.toHaveProperty('tool_choice');
    expect(body).not.toHaveProperty('tools');
  });

  it('rejects tools that are not functions', () => {
    expect(rejection({ messages: [user('x')], tools: [{ type: 'custom', custom: { name: 'c' } }] }).param).toBe('tools[0].type');
  });
});

describe('Anthropic provider config fragment', () => {
  it('fills anthropic_version and default_max_tokens and rejects a malformed version', () => {
    const validate = new Ajv({ useDefaults: true }).compile({ type: 'object', ...anthropicProviderSchema });
    const filled: Record<string, unknown> = {};
    expect(validate(filled)).toBe(true);
    expect(filled).toEqual({ anthropic_version: '2023-06-01', cache_prefix_min_tokens: 0, default_max_tokens: 4096 });
    expect(validate({ anthropic_version: 'latest' })).toBe(false);
    expect(validate({ default_max_tokens: 0 })).toBe(false);
  });
});
