import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { renderGatewayError } from '../../../src/errors/render.ts';
import { openAIErrorBodyAsAnthropic } from '../../../src/messages/errors.ts';
import { messagesToChat } from '../../../src/messages/request.ts';
import { chatCompletionToMessage } from '../../../src/messages/response.ts';
import { answerChat, chatBody } from '../../fakes/openai/completions.ts';
import { validateChat } from '../../fakes/openai/validate-chat.ts';

/** The strict OpenAI fake's real chat completion for a Messages request's chat form. */
function completion(request: Record<string, unknown>): Record<string, unknown> {
  const chat = validateChat(messagesToChat({ model: 'gpt-4o-mini', max_tokens: 64, ...request }), new Set(['gpt-4o-mini']));
  return JSON.parse(chatBody(chat, answerChat(chat), { id: 0, call: 0 })) as Record<string, unknown>;
}

const context = { requestId: 'req-1', model: 'fallback', usage: null };

describe('chat completion → Anthropic message', () => {
  it('text answer (golden)', () => {
    expect(chatCompletionToMessage(completion({ messages: [{ role: 'user', content: 'hello there' }] }), context)).toEqual({
      id: 'msg_req1', type: 'message', role: 'assistant', model: 'gpt-4o-mini',
      content: [{ type: 'text', text: 'Echo: hello there' }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('tool call: a tool_use block with the parsed input, stop_reason tool_use', () => {
    const message = chatCompletionToMessage(completion({
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [{ role: 'user', content: 'Paris' }],
    }), context);
    expect(message.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { echo: 'Paris' } }]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('finish reasons, Anthropic ids kept, usage from the provider report with prompt-cache reads and writes apart', () => {
    const base = { id: 'msg_01abc', model: 'claude-x', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'length' }] };
    const message = chatCompletionToMessage(base, {
      requestId: 'r', model: 'x', usage: { promptTokens: 100, completionTokens: 7, totalTokens: 107, cachedPromptTokens: 60, cacheWriteTokens: 30 },
    });
    expect(message).toMatchObject({
      id: 'msg_01abc', model: 'claude-x', stop_reason: 'max_tokens',
      usage: { input_tokens: 10, output_tokens: 7, cache_read_input_tokens: 60, cache_creation_input_tokens: 30 },
    });
    expect(chatCompletionToMessage(base, { ...context, stop: { reason: 'stop_sequence', sequence: '###' } })).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: '###' });
    const withThinking = { choices: [{ message: { content: 'hi', thinking_blocks: [{ type: 'thinking', thinking: 't', signature: 's' }] }, finish_reason: 'stop' }] };
    expect(chatCompletionToMessage(withThinking, context).content).toEqual([{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'text', text: 'hi' }]);
    const finish = (reason: string) => chatCompletionToMessage({ choices: [{ message: { content: 'x' }, finish_reason: reason }] }, context).stop_reason;
    expect(['stop', 'length', 'tool_calls', 'content_filter', 'something_new'].map(finish)).toEqual(['end_turn', 'max_tokens', 'tool_use', 'refusal', 'end_turn']);
  });
});

describe('errors in Anthropic\'s shape', () => {
  it('a GatewayError keeps its status; its type follows the status', () => {
    const cases: Array<[number, string]> = [[400, 'invalid_request_error'], [401, 'authentication_error'], [403, 'permission_error'], [404, 'not_found_error'],
      [413, 'request_too_large'], [429, 'rate_limit_error'], [500, 'api_error'], [502, 'api_error'], [503, 'overloaded_error'], [504, 'timeout_error']];
    for (const [status, type] of cases) {
      const reply = renderGatewayError(new GatewayError({ status, type: 'api_error', code: 'x', message: 'm', headers: { 'retry-after': '3' } }), [], 'messages');
      expect(reply.status).toBe(status);
      expect(JSON.parse(reply.body)).toEqual({ type: 'error', error: { type, message: 'm' } });
      expect(reply.headers).toContainEqual(['retry-after', '3']);
    }
    // Other dialects keep OpenAI's shape.
    expect(JSON.parse(renderGatewayError(new GatewayError({ status: 400, type: 'invalid_request_error', code: 'c', message: 'm' })).body)).toEqual({
      error: { message: 'm', type: 'invalid_request_error', code: 'c', param: null },
    });
  });

  it('a provider error read into OpenAI shape: its message kept, an Anthropic provider\'s own type kept', () => {
    const openai = Buffer.from(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null } }));
    expect(JSON.parse(openAIErrorBodyAsAnthropic(429, openai).toString())).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached' } });
    const anthropic = Buffer.from(JSON.stringify({ error: { message: 'Overloaded', type: 'api_error', code: 'overloaded_error', param: null } }));
    expect(JSON.parse(openAIErrorBodyAsAnthropic(529, anthropic).toString())).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(JSON.parse(openAIErrorBodyAsAnthropic(502, Buffer.from('<html>bad gateway</html>')).toString())).toEqual({ type: 'error', error: { type: 'api_error', message: '<html>bad gateway</html>' } });
  });
});
