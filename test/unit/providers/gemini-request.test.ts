import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { geminiAdapter } from '../../../src/providers/gemini/adapter.ts';
import type { TranslateRequestInput } from '../../../src/providers/provider-adapter.ts';

const KEY = 'AIza-secret-key';

function translate(body: Record<string, unknown>, opts: { endpoint?: 'chat' | 'embeddings'; stream?: boolean; model?: string; credential?: string | null } = {}) {
  const input: TranslateRequestInput = {
    endpoint: opts.endpoint ?? 'chat',
    body,
    stream: opts.stream ?? false,
    target: {
      providerName: 'google',
      provider: { type: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta', api_key_env: 'GEMINI_API_KEY' },
      basePath: '/v1beta',
      upstreamModel: opts.model ?? 'gemini-2.0-flash',
      credential: opts.credential === undefined ? KEY : opts.credential,
    },
  };
  return geminiAdapter.translateRequest(input);
}

function badRequest(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('expected a GatewayError');
}

describe('Gemini request: path and credential', () => {
  it('puts the key in x-goog-api-key, never in the URL, and removes the client authorization', () => {
    const out = translate({ model: 'g', messages: [{ role: 'user', content: 'hi' }] });
    expect(out.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(out.headers).toEqual({ 'x-goog-api-key': KEY });
    expect(out.removeHeaders).toEqual(['authorization']);
    expect(out.path).not.toContain(KEY);
    expect(out.path).not.toContain('key=');
  });

  it('streams through streamGenerateContent?alt=sse and accepts a models/ prefix', () => {
    const out = translate({ model: 'g', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }, { stream: true, model: 'models/gemini-2.5-pro' });
    expect(out.path).toBe('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
    expect(out.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
  });

  it('without a credential sends no key and removes any the client sent for Google', () => {
    const out = translate({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }, { credential: null });
    expect(out.headers).toEqual({});
    expect(out.removeHeaders).toEqual(['authorization', 'x-goog-api-key']);
  });
});

describe('Gemini request: messages → contents', () => {
  it('maps roles, merges turns, lifts system and developer messages into systemInstruction', () => {
    const out = translate({
      model: 'g',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first' },
        { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'text', text: '' }] },
        { role: 'developer', content: [{ type: 'text', text: 'answer in French' }] },
        { role: 'assistant', content: 'ok' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'third' },
      ],
    });
    expect(out.body).toEqual({
      systemInstruction: { parts: [{ text: 'be brief' }, { text: 'answer in French' }] },
      contents: [
        { role: 'user', parts: [{ text: 'first' }, { text: 'second' }] },
        { role: 'model', parts: [{ text: 'ok' }] },
        { role: 'user', parts: [{ text: 'third' }] },
      ],
    });
  });

  it('translates images: data URLs inline, http(s) URLs as fileData with the type guessed from the extension', () => {
    const out = translate({
      model: 'g',
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=large', detail: 'high' } },
          { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
        ],
      }],
    });
    expect(out.body.contents).toEqual([{
      role: 'user',
      parts: [
        { text: 'what is this?' },
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
        { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?size=large' } },
        { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
      ],
    }]);
  });

  it('refuses an image URL whose type it cannot tell, naming the part', () => {
    const e = badRequest(() => translate({ model: 'g', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/image?id=3' } }] }] }));
    expect(e.status).toBe(400);
    expect(e.param).toBe('messages[0].content[0]');
    expect(e.message).toMatch(/media type.*\.png/);
  });

  it('translates tool calls and results: functionCall parts, functionResponse by the name of the matching call', () => {
    const out = translate({
      model: 'g',
      messages: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'weather_v2', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_2', content: 'sunny, 25C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '[1,2]' }] },
      ],
    });
    expect(out.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'weather in Paris and Rome?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }, { functionCall: { name: 'weather_v2', args: {} } }] },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'weather', response: { temp: 21 } } },
          { functionResponse: { name: 'weather_v2', response: { content: 'sunny, 25C' } } },
          { functionResponse: { name: 'weather_v2', response: { content: '[1,2]' } } },
        ],
      },
    ]);
  });

  it('puts a thought signature carried in a tool call id back on its functionCall part', () => {
    const id = 'call_r1_1__thought__c2lnbmVk';
    const out = translate({
      model: 'g',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', tool_calls: [{ id, type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'call_r1_2', type: 'function', function: { name: 'g', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: id, content: 'done' },
        { role: 'tool', tool_call_id: 'call_r1_2', content: 'done' },
      ],
    });
    expect(out.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'go' }] },
      { role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'c2lnbmVk' }, { functionCall: { name: 'g', args: {} } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'f', response: { content: 'done' } } }, { functionResponse: { name: 'g', response: { content: 'done' } } }] },
    ]);
  });

  it('refuses a tool result for an unknown call, bad arguments and only-system conversations', () => {
    expect(badRequest(() => translate({ model: 'g', messages: [{ role: 'user', content: 'a' }, { role: 'tool', tool_call_id: 'nope', content: 'x' }] })).param).toBe('messages[1].tool_call_id');
    const args = badRequest(() => translate({ model: 'g', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }));
    expect(args.param).toBe('messages[0].tool_calls[0].function.arguments');
    expect(badRequest(() => translate({ model: 'g', messages: [{ role: 'system', content: 'only me' }] })).message).toMatch(/at least one user or assistant message/);
  });
});

describe('Gemini request: tools and generation parameters', () => {
  it('declares functions with Gemini-safe schemas and maps tool_choice', () => {
    const parameters = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      additionalProperties: false,
      properties: {
        city: { type: 'string', description: 'City', format: 'uri' },
        when: { type: ['string', 'null'], format: 'date-time' },
        unit: { $ref: '#/$defs/Unit' },
        tags: { type: 'array', items: { type: 'string' }, uniqueItems: true },
        mode: { const: 'fast' },
      },
      required: ['city', 'ghost'],
      $defs: { Unit: { type: 'string', enum: ['c', 'f'] } },
    };
    const out = translate({
      model: 'g',
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        { type: 'function', function: { name: 'weather', description: 'Weather now', parameters, strict: true } },
        { type: 'function', function: { name: 'ping', parameters: { type: 'object', properties: {} } } },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      parallel_tool_calls: false,
    });
    expect(out.body.tools).toEqual([{
      functionDeclarations: [
        {
          name: 'weather',
          description: 'Weather now',
          parameters: {
            type: 'object',
            properties: {
              city: { type: 'string', description: 'City' },
              when: { type: 'string', nullable: true, format: 'date-time' },
              unit: { type: 'string', enum: ['c', 'f'] },
              tags: { type: 'array', items: { type: 'string' } },
              mode: { enum: ['fast'] },
            },
            required: ['city'],
          },
        },
        { name: 'ping' },
      ],
    }]);
    expect(out.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['weather'] } });
    for (const [choice, mode] of [['auto', 'AUTO'], ['none', 'NONE'], ['required', 'ANY']] as const) {
      const t = translate({ model: 'g', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: choice });
      expect(t.body.toolConfig).toEqual({ functionCallingConfig: { mode } });
    }
  });

  it('refuses recursive schemas and non-function tools', () => {
    const recursive = { type: 'object', properties: { child: { $ref: '#' } } };
    expect(badRequest(() => translate({ model: 'g', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f', parameters: recursive } }] })).message).toMatch(/recursive/);
    expect(badRequest(() => translate({ model: 'g', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search' }] })).param).toBe('tools[0]');
  });

  it('maps generation parameters into generationConfig', () => {
    const out = translate({
      model: 'g',
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 100,
      stop: 'END',
      n: 2,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      reasoning_effort: 'low',
      user: 'u-1',
      response_format: { type: 'json_schema', json_schema: { name: 'r', strict: true, schema: { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: false } } },
    });
    expect(out.body.generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 100,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      thinkingConfig: { thinkingBudget: 1024 },
      responseMimeType: 'application/json',
      responseSchema: { type: 'object', properties: { a: { type: 'integer' } } },
    });
    const json = translate({ model: 'g', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' }, stop: ['a', 'b'], max_tokens: 9 });
    expect(json.body.generationConfig).toEqual({ responseMimeType: 'application/json', stopSequences: ['a', 'b'], maxOutputTokens: 9 });
    expect(translate({ model: 'g', messages: [{ role: 'user', content: 'x' }], temperature: null }).body.generationConfig).toBeUndefined();
  });

  it('fits the thinking budget to the model family: 2.5 Pro always thinks, Flash-Lite from 512, Pro up to 32,768', () => {
    const budget = (effort: string, model: string) =>
      (translate({ messages: [{ role: 'user', content: 'x' }], reasoning_effort: effort }, { model }).body.generationConfig as { thinkingConfig: unknown }).thinkingConfig;
    expect(budget('minimal', 'gemini-2.5-pro')).toEqual({ thinkingBudget: 128 });
    expect(budget('high', 'gemini-2.5-pro')).toEqual({ thinkingBudget: 24576 });
    expect(budget('minimal', 'gemini-2.5-flash')).toEqual({ thinkingBudget: 0 });
    expect(budget('low', 'gemini-2.5-flash-lite')).toEqual({ thinkingBudget: 1024 });
    expect(budget('minimal', 'gemini-2.5-flash-lite')).toEqual({ thinkingBudget: 0 });
    expect(budget('medium', 'gemini-2.0-flash')).toEqual({ thinkingBudget: 8192 });
  });
});

describe('Gemini request: embeddings', () => {
  it('sends one batchEmbedContents request per input, string or list', () => {
    const one = translate({ model: 'e', input: 'hello' }, { endpoint: 'embeddings', model: 'text-embedding-004' });
    expect(one.path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(one.headers).toEqual({ 'x-goog-api-key': KEY });
    expect(one.body).toEqual({ requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'hello' }] } }] });
    const many = translate({ model: 'e', input: ['a', 'b'], dimensions: 256, encoding_format: 'base64' }, { endpoint: 'embeddings', model: 'gemini-embedding-001' });
    expect(many.body).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] }, outputDimensionality: 256 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] }, outputDimensionality: 256 },
      ],
    });
  });

  it('refuses token arrays with a clear 400', () => {
    for (const input of [[1, 2, 3], [[1, 2], [3]]]) {
      const e = badRequest(() => translate({ model: 'e', input }, { endpoint: 'embeddings' }));
      expect(e.status).toBe(400);
      expect(e.param).toBe('input');
      expect(e.message).toMatch(/token arrays are not supported/);
    }
  });
});
