import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { chatToResponsesRequest, responsesToChat } from '../../../src/responses/request.ts';

const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

function rejection(body: Record<string, unknown>, storeConfigured = false): { status: number; code: string | null; param: string | null; message: string } {
  try {
    responsesToChat(body, storeConfigured);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { status: error.status, code: error.code, param: error.param, message: error.message };
  }
  throw new Error('not rejected');
}

describe('Responses request → chat form', () => {
  it('translates a string input with instructions', () => {
    const { chat, echo } = responsesToChat({ model: 'gpt-4o-mini', instructions: 'Be brief.', input: 'Hi' });
    expect(chat).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] });
    expect(echo).toMatchObject({ instructions: 'Be brief.', metadata: {}, tools: [], tool_choice: 'auto', text: { format: { type: 'text' } } });
  });

  it('translates items, function tools, tool_choice, limits, text.format and streaming (golden)', () => {
    const { chat, echo } = responsesToChat({
      model: 'm',
      input: [
        { role: 'developer', content: 'Answer in JSON.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }, { type: 'input_image', image_url: 'https://x.test/a.png', detail: 'low' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Lyon"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
        { type: 'function_call_output', call_id: 'call_2', output: '{"temp":23}' },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Paris 21, Lyon 23.' }] },
        { role: 'user', content: 'Thanks' },
      ],
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather by city', parameters: weather, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      max_output_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      text: { format: { type: 'json_schema', name: 'answer', schema: weather, strict: true } },
      metadata: { ticket: 'T-1' },
      user: 'u1',
      store: false,
      stream: true,
    });
    expect(chat).toEqual({
      model: 'm',
      messages: [
        { role: 'developer', content: 'Answer in JSON.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }, { type: 'image_url', image_url: { url: 'https://x.test/a.png', detail: 'low' } }] },
        {
          role: 'assistant', content: null, tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_2', content: '{"temp":23}' },
        { role: 'assistant', content: 'Paris 21, Lyon 23.' },
        { role: 'user', content: 'Thanks' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: weather, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: weather, strict: true } },
    });
    expect(echo).toMatchObject({ metadata: { ticket: 'T-1' }, max_output_tokens: 64, parallel_tool_calls: false, user: 'u1' });
  });

  it('rejects unknown and untranslated parameters, other tools and items with a clear 400 naming them', () => {
    expect(rejection({ model: 'm', input: 'x', foo: 1 })).toMatchObject({ status: 400, code: 'unknown_parameter', param: 'foo' });
    expect(rejection({ model: 'm', input: 'x', reasoning: { effort: 'low' } })).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'reasoning' });
    expect(rejection({ model: 'm', input: 'x', tools: [{ type: 'web_search' }] })).toMatchObject({ code: 'unsupported_parameter', param: 'tools[0].type' });
    expect(rejection({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] })).toMatchObject({ code: 'unsupported_parameter', param: 'input[0].type' });
    expect(rejection({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] })).toMatchObject({ param: 'input[0].content[0].type' });
    expect(rejection({ model: 'm' })).toMatchObject({ code: 'missing_required_parameter', param: 'input' });
    expect(rejection({ model: 'm', input: 'x', max_output_tokens: 4 })).toMatchObject({ param: 'max_output_tokens' });
    expect(rejection({ model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: {} } } })).toMatchObject({ param: 'text.format.name' });
    expect(rejection({ model: 'm', input: 'x', temperature: 3 })).toMatchObject({ param: 'temperature' });
  });

  it('refuses store: true and previous_response_id without a response store, and says why', () => {
    const stored = rejection({ model: 'm', input: 'x', store: true });
    expect(stored).toMatchObject({ status: 400, code: 'response_store_not_configured', param: 'store' });
    expect(stored.message).toMatch(/needs a response store, and this gateway has none configured/);
    expect(rejection({ model: 'm', input: 'x', previous_response_id: 'resp_1' })).toMatchObject({ code: 'response_store_not_configured', param: 'previous_response_id' });
    expect(() => responsesToChat({ model: 'm', input: 'x', store: false })).not.toThrow();
  });
});

describe('chat form → Responses request (native providers)', () => {
  it('restores the Responses dialect of a translated request (round trip, golden)', () => {
    const original = {
      model: 'alias',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
      ],
      tools: [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }],
      tool_choice: 'required',
      max_output_tokens: 100,
      temperature: 0,
      text: { format: { type: 'json_schema', name: 'answer', schema: weather, strict: true } },
      metadata: { ticket: 'T-1' },
      stream: true,
    };
    const { chat, echo } = responsesToChat(original);
    expect(chatToResponsesRequest(chat, 'gpt-4.1', echo.metadata)).toEqual({
      model: 'gpt-4.1',
      store: false,
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
      ],
      stream: true,
      max_output_tokens: 100,
      temperature: 0,
      tools: [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }],
      tool_choice: 'required',
      text: { format: { type: 'json_schema', name: 'answer', schema: weather, strict: true } },
      metadata: { ticket: 'T-1' },
    });
  });
});

describe("Gemini's retry hint", () => {
  it('reads RetryInfo.retryDelay in whole seconds, rounded up, and nothing else', async () => {
    const { googleRetryDelaySeconds } = await import('../../../src/providers/gemini/errors.ts');
    const body = (details: unknown[]) => Buffer.from(JSON.stringify({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'x', details } }));
    const retryInfo = (retryDelay: string) => ({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay });
    expect(googleRetryDelaySeconds(body([{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure' }, retryInfo('2s')]))).toBe(2);
    expect(googleRetryDelaySeconds(body([retryInfo('1.250s')]))).toBe(2);
    expect(googleRetryDelaySeconds(body([retryInfo('0s')]))).toBe(1);
    expect(googleRetryDelaySeconds(Buffer.from(`[${body([retryInfo('3s')]).toString()}]`))).toBe(3);
    expect(googleRetryDelaySeconds(body([retryInfo('soon')]))).toBeNull();
    expect(googleRetryDelaySeconds(body([]))).toBeNull();
    expect(googleRetryDelaySeconds(Buffer.from('<html>busy</html>'))).toBeNull();
  });
});
