import { describe, expect, it } from 'vitest';
import type { ProviderType } from '../../../src/config/types.ts';
import type { ResponseInfo } from '../../../src/providers/provider-adapter.ts';
import { providerAdapter } from '../../../src/providers/registry.ts';

/**
 * Every provider translator tells why each choice ended, in OpenAI finish_reason terms (the request span's
 * gen_ai.response.finish_reasons), for buffered and streamed answers alike.
 */
function info(overrides: Partial<ResponseInfo> = {}): ResponseInfo {
  return { endpoint: 'chat', stream: false, status: 200, clientWantsUsage: false, requestId: 'req-1', createdAt: 1_700_000_000, upstreamModel: 'm', ...overrides };
}

/** Feeds a body split in two network reads (so nothing depends on one event per chunk) and returns the reasons. */
function reasons(type: ProviderType, body: string, overrides: Partial<ResponseInfo> = {}): readonly string[] {
  const translator = providerAdapter(type).translateResponse(info(overrides));
  const bytes = Buffer.from(body);
  const cut = Math.floor(bytes.length / 2);
  translator.onChunk(bytes.subarray(0, cut), false);
  translator.onChunk(bytes.subarray(cut), true);
  return translator.finishReasons;
}

const sse = (...events: unknown[]) => events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');

describe('finish reasons', () => {
  it('OpenAI buffered: one per choice, by index', () => {
    const body = JSON.stringify({ choices: [{ index: 1, finish_reason: 'length' }, { index: 0, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
    expect(reasons('openai', body)).toEqual(['stop', 'length']);
  });

  it('OpenAI streamed: read from the chunk that ends each choice', () => {
    const body = sse(
      { choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      '[DONE]',
    );
    expect(reasons('openai', body, { stream: true })).toEqual(['tool_calls']);
  });

  it('an error answer has none', () => {
    expect(reasons('openai', JSON.stringify({ error: { message: 'no' } }), { status: 429 })).toEqual([]);
  });

  it('Anthropic buffered: stop_reason mapped to OpenAI terms', () => {
    const body = JSON.stringify({ id: 'msg_1', model: 'claude', content: [{ type: 'text', text: 'hi' }], stop_reason: 'max_tokens', usage: { input_tokens: 1, output_tokens: 2 } });
    expect(reasons('anthropic', body)).toEqual(['length']);
  });

  it('Anthropic streamed: from message_delta', () => {
    const body = [
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 1 } } })}\n\n`,
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
      `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } })}\n\n`,
      `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } })}\n\n`,
      `event: message_stop\ndata: ${JSON.stringify({ type: 'message_stop' })}\n\n`,
    ].join('');
    expect(reasons('anthropic', body, { stream: true })).toEqual(['stop']);
  });

  it('Gemini buffered: finishReason mapped, one per candidate', () => {
    const body = JSON.stringify({
      candidates: [
        { index: 0, content: { role: 'model', parts: [{ text: 'a' }] }, finishReason: 'STOP' },
        { index: 1, content: { role: 'model', parts: [{ text: 'b' }] }, finishReason: 'SAFETY' },
      ],
      usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 },
    });
    expect(reasons('gemini', body)).toEqual(['stop', 'content_filter']);
  });

  it('Gemini streamed: from the candidate that finishes', () => {
    const body = sse(
      { candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'a' }] } }] },
      { candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'b' }] }, finishReason: 'MAX_TOKENS' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 } },
    );
    expect(reasons('gemini', body, { stream: true })).toEqual(['length']);
  });

  it('a provider speaking the Responses API: buffered and streamed', () => {
    const response = { id: 'resp_1', object: 'response', model: 'm', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a' }] }], usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } };
    expect(reasons('openai', JSON.stringify(response), { responsesDialect: true })).toEqual(['length']);
    const stream = sse(
      { type: 'response.created', response: { ...response, status: 'in_progress' } },
      { type: 'response.output_text.delta', delta: 'a' },
      { type: 'response.completed', response: { ...response, status: 'completed', incomplete_details: null } },
    );
    expect(reasons('openai', stream, { responsesDialect: true, stream: true })).toEqual(['stop']);
  });
});
