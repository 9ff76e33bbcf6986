import { describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../../src/providers/gemini/adapter.ts';
import type { ResponseInfo, ResponseTranslator } from '../../../src/providers/provider-adapter.ts';

function info(overrides: Partial<ResponseInfo> = {}): ResponseInfo {
  return { endpoint: 'chat', stream: false, status: 200, clientWantsUsage: false, requestId: 'req-123', createdAt: 1_700_000_000, upstreamModel: 'gemini-2.0-flash', ...overrides };
}

/** Feeds a body in pieces, as Envoy streams it; returns what the client gets. */
function feed(translator: ResponseTranslator, text: string, cuts: number[] = []): string {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts, bytes.length];
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) {
    const piece = bytes.subarray(edges[i], edges[i + 1]);
    const last = i === edges.length - 2;
    const replaced = translator.onChunk(piece, last);
    if (!last) expect(replaced?.length ?? -1).toBe(0); // held back until the whole body is there
    out += (replaced ?? piece).toString();
  }
  return out;
}

const TEXT_RESPONSE = {
  candidates: [
    { content: { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'Hello, ' }, { text: 'world' }] }, finishReason: 'STOP', index: 0 },
    { content: { role: 'model', parts: [{ text: 'Cut' }] }, finishReason: 'MAX_TOKENS', index: 1 },
    { content: { role: 'model', parts: [] }, finishReason: 'SAFETY', index: 2 },
  ],
  usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 6, thoughtsTokenCount: 4, cachedContentTokenCount: 3, totalTokenCount: 20 },
  modelVersion: 'gemini-2.0-flash-001',
  responseId: 'abc123',
};

describe('Gemini JSON response → chat.completion', () => {
  it('translates candidates, finish reasons and usage (thoughts count as completion, cached as cached prompt)', () => {
    const translator = geminiAdapter.translateResponse(info());
    const text = JSON.stringify(TEXT_RESPONSE);
    const out = JSON.parse(feed(translator, text, [1, 40, 41, text.length - 1]));
    expect(out).toEqual({
      id: 'chatcmpl-abc123',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gemini-2.0-flash-001',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello, world', refusal: null }, logprobs: null, finish_reason: 'stop' },
        { index: 1, message: { role: 'assistant', content: 'Cut', refusal: null }, logprobs: null, finish_reason: 'length' },
        { index: 2, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: 'content_filter' },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 10,
        total_tokens: 20,
        prompt_tokens_details: { cached_tokens: 3 },
        completion_tokens_details: { reasoning_tokens: 4 },
      },
    });
    expect(translator.usage).toEqual({ promptTokens: 10, completionTokens: 10, totalTokens: 20, cachedPromptTokens: 3, reasoningTokens: 4 });
    expect(translator.truncated).toBe(false);
  });

  it('turns function calls into tool_calls with ids and JSON-string arguments, finish_reason tool_calls', () => {
    const translator = geminiAdapter.translateResponse(info({ requestId: 'a1b2-c3' }));
    const out = JSON.parse(feed(translator, JSON.stringify({
      candidates: [{
        content: { role: 'model', parts: [{ functionCall: { name: 'weather', args: { city: 'Paris' } } }, { functionCall: { name: 'time', args: {} } }] },
        finishReason: 'STOP',
      }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 },
    })));
    expect(out.id).toBe('chatcmpl-a1b2-c3');
    expect(out.model).toBe('gemini-2.0-flash');
    expect(out.choices).toEqual([{
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_a1b2c3_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_a1b2c3_2', type: 'function', function: { name: 'time', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    }]);
    expect(out.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  });

  it('carries a thought signature in the tool call id, so the client sends it back', () => {
    const translator = geminiAdapter.translateResponse(info({ requestId: 'r1' }));
    const out = JSON.parse(feed(translator, JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'c2lnbmVk' }, { functionCall: { id: 'g-id', name: 'g', args: {} } }] }, finishReason: 'STOP' }],
    })));
    expect(out.choices[0].message.tool_calls.map((c: { id: string }) => c.id)).toEqual(['call_r1_1__thought__c2lnbmVk', 'g-id']);
  });

  it('answers a blocked prompt with one content_filter choice, keeping the prompt usage', () => {
    const translator = geminiAdapter.translateResponse(info());
    const out = JSON.parse(feed(translator, JSON.stringify({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } })));
    expect(out.choices).toEqual([{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' }]);
    expect(out.usage).toEqual({ prompt_tokens: 8, completion_tokens: 0, total_tokens: 8 });
  });

  it('answers a 200 body that is not whole JSON with an error, marked truncated', () => {
    const translator = geminiAdapter.translateResponse(info());
    const out = JSON.parse(feed(translator, '{"candidates":[{"content":'));
    expect(out.error).toMatchObject({ type: 'api_error', code: 'invalid_provider_response' });
    expect(translator.truncated).toBe(true);
  });
});

describe('Gemini errors → OpenAI error shape', () => {
  const cases: Array<[number, unknown, { message: string; type: string; code: string | null }]> = [
    [429, { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }] } },
      { message: 'Resource has been exhausted (e.g. check quota).', type: 'rate_limit_error', code: 'RESOURCE_EXHAUSTED' }],
    [400, { error: { code: 400, message: 'Invalid JSON payload received. Unknown name "foo": Cannot find field.', status: 'INVALID_ARGUMENT' } },
      { message: 'Invalid JSON payload received. Unknown name "foo": Cannot find field.', type: 'invalid_request_error', code: 'INVALID_ARGUMENT' }],
    [500, { error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } },
      { message: 'An internal error has occurred.', type: 'api_error', code: 'INTERNAL' }],
    [403, [{ error: { code: 403, message: 'Permission denied.', status: 'PERMISSION_DENIED' } }],
      { message: 'Permission denied.', type: 'permission_error', code: 'PERMISSION_DENIED' }],
  ];
  for (const [status, body, expected] of cases) {
    it(`${status} keeps Google's message, its status string as code (JSON and stream requests alike)`, () => {
      for (const stream of [false, true]) {
        const out = JSON.parse(feed(geminiAdapter.translateResponse(info({ status, stream })), JSON.stringify(body), [3]));
        expect(out).toEqual({ error: { ...expected, param: null } });
      }
    });
  }

  it('keeps the text of a non-JSON error page', () => {
    const out = JSON.parse(feed(geminiAdapter.translateResponse(info({ status: 404 })), '<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>'));
    expect(out.error).toMatchObject({ type: 'not_found_error', code: null });
    expect(out.error.message).toMatch(/Error 404/);
  });
});

describe('Gemini embeddings response → OpenAI list', () => {
  const body = JSON.stringify({ embeddings: [{ values: [0.5, -0.25] }, { values: [1, 0] }] });

  it('lists the vectors in input order with an estimated usage (4 characters per token)', () => {
    const translator = geminiAdapter.translateResponse(info({ endpoint: 'embeddings', upstreamModel: 'text-embedding-004', request: { model: 'emb', input: ['hello world', 'hi'] } }));
    const out = JSON.parse(feed(translator, body, [10]));
    expect(out).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'text-embedding-004',
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    expect(translator.usage).toEqual({ promptTokens: 4, completionTokens: 0, totalTokens: 4, estimated: true });
  });

  it('encodes base64 when the client asked for it (the OpenAI SDK default), as little-endian float32', () => {
    const translator = geminiAdapter.translateResponse(info({ endpoint: 'embeddings', request: { model: 'emb', input: 'single', encoding_format: 'base64' } }));
    const out = JSON.parse(feed(translator, JSON.stringify({ embeddings: [{ values: [0.5, -0.25] }] })));
    const bytes = Buffer.from(out.data[0].embedding, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual([0.5, -0.25]);
    expect(out.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('translates embeddings errors too', () => {
    const out = JSON.parse(feed(geminiAdapter.translateResponse(info({ endpoint: 'embeddings', status: 400 })), JSON.stringify({ error: { code: 400, message: '* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n', status: 'INVALID_ARGUMENT' } })));
    expect(out.error).toMatchObject({ type: 'invalid_request_error', code: 'INVALID_ARGUMENT' });
  });
});
