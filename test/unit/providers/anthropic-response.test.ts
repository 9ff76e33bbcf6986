import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import { feed, responseInfo } from './anthropic-fixtures.ts';

const message = {
  id: 'msg_01ABC',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5-20251001',
  content: [
    { type: 'text', text: 'Let me check ' },
    { type: 'text', text: 'the weather.' },
    { type: 'tool_use', id: 'toolu_01', name: 'weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'toolu_02', name: 'weather', input: { city: 'Rome' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 100, cache_creation_input_tokens: 20, cache_read_input_tokens: 300, output_tokens: 42 },
};

function translateJson(body: string, status = 200, cuts: number[] = []): { out: string; usage: unknown } {
  const translator = anthropicAdapter.translateResponse(responseInfo({ status }));
  const bytes = Buffer.from(body);
  // Envoy streams the JSON in pieces: nothing may reach the client before the last one.
  const pieces = [0, ...cuts, bytes.length];
  let out = '';
  for (let i = 0; i < pieces.length - 1; i++) {
    const last = i === pieces.length - 2;
    const replaced = translator.onChunk(bytes.subarray(pieces[i], pieces[i + 1]), last);
    if (!last) expect(replaced?.length).toBe(0);
    out += replaced?.toString() ?? '';
  }
  return { out, usage: translator.usage };
}

describe('Anthropic JSON response → chat.completion', () => {
  it('translates content, tool calls, finish reason and usage (cached input counted in prompt tokens)', () => {
    const { out, usage } = translateJson(JSON.stringify(message), 200, [5, 80, 200]);
    const completion = JSON.parse(out) as ChatCompletion;
    expect(completion).toEqual({
      id: 'msg_01ABC',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-haiku-4-5-20251001',
      choices: [{
        index: 0,
        message: {
          role: 'assistant',
          content: 'Let me check the weather.',
          refusal: null,
          tool_calls: [
            { id: 'toolu_01', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_02', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      }],
      usage: { prompt_tokens: 420, completion_tokens: 42, total_tokens: 462, prompt_tokens_details: { cached_tokens: 300 } },
    });
    expect(usage).toEqual({ promptTokens: 420, completionTokens: 42, totalTokens: 462, cachedPromptTokens: 300, cacheWriteTokens: 20 });
  });

  it('maps every stop reason to its finish reason', () => {
    const cases: Array<[string, string]> = [
      ['end_turn', 'stop'], ['stop_sequence', 'stop'], ['max_tokens', 'length'], ['tool_use', 'tool_calls'], ['refusal', 'content_filter'],
    ];
    for (const [stop, finish] of cases) {
      const { out } = translateJson(JSON.stringify({ ...message, content: [{ type: 'text', text: 'x' }], stop_reason: stop }));
      expect((JSON.parse(out) as ChatCompletion).choices[0]?.finish_reason).toBe(finish);
    }
  });

  it('gives null content beside tool calls when the model said nothing else, and no tool_calls key otherwise', () => {
    const toolOnly = translateJson(JSON.stringify({ ...message, content: [message.content[2]] }));
    expect((JSON.parse(toolOnly.out) as ChatCompletion).choices[0]?.message.content).toBeNull();
    const textOnly = translateJson(JSON.stringify({ ...message, content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn' }));
    expect((JSON.parse(textOnly.out) as ChatCompletion).choices[0]?.message).toEqual({ role: 'assistant', content: 'hi', refusal: null });
  });
});

describe('Anthropic errors → OpenAI error shape', () => {
  const anthropicError = (type: string, msg: string) => JSON.stringify({ type: 'error', error: { type, message: msg }, request_id: 'req_1' });

  it.each([
    [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', 'rate_limit_error'],
    [400, 'invalid_request_error', 'max_tokens: Field required', 'invalid_request_error'],
    [529, 'overloaded_error', 'Overloaded', 'api_error'],
    [401, 'authentication_error', 'invalid x-api-key', 'authentication_error'],
  ])('%i %s keeps the message; code = the Anthropic type', (status, type, msg, openAIType) => {
    const { out, usage } = translateJson(anthropicError(type, msg), status, [7]);
    expect(JSON.parse(out)).toEqual({ error: { message: msg, type: openAIType, code: type, param: null } });
    expect(usage).toBeNull();
  });

  it('a non-JSON error page keeps its text', () => {
    const { out } = translateJson('<html>bad gateway</html>', 502);
    expect(JSON.parse(out)).toEqual({ error: { message: '<html>bad gateway</html>', type: 'api_error', code: null, param: null } });
  });

  it("Envoy's own reply on the route (already OpenAI-shaped, e.g. a reset) keeps its code instead of being read as Anthropic's", () => {
    const envoyReply = '{"error":{"code":"provider_unreachable","message":"The provider could not be reached (connection failed or was reset).","param":null,"type":"api_error"}}\n';
    const { out } = translateJson(envoyReply, 502, [9]);
    expect(out).toBe(envoyReply);
  });

  it('a stream request answered with an error status is translated as JSON too', () => {
    const translator = anthropicAdapter.translateResponse(responseInfo({ stream: true, status: 529 }));
    const out = feed(translator, Buffer.from(anthropicError('overloaded_error', 'Overloaded')), [3]);
    expect(JSON.parse(out)).toMatchObject({ error: { code: 'overloaded_error', message: 'Overloaded' } });
  });
});
