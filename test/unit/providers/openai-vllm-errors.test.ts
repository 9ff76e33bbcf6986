import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiAdapter } from '../../../src/providers/openai/adapter.ts';
import type { ResponseInfo } from '../../../src/providers/provider-adapter.ts';
import { startFakeVllm } from '../../fakes/vllm-provider.ts';
import type { FakeVllm } from '../../fakes/vllm-provider.ts';

const info = (status: number): ResponseInfo => ({
  endpoint: 'chat', stream: false, status, clientWantsUsage: false, requestId: 'req-1', createdAt: 1_700_000_000, upstreamModel: 'llama',
});

function translateError(status: number, body: string): unknown {
  const translator = openaiAdapter.translateResponse(info(status));
  const bytes = Buffer.from(body);
  const held = translator.onChunk(bytes.subarray(0, 7), false);
  expect(held?.length).toBe(0);
  const out = translator.onChunk(bytes.subarray(7), true);
  return JSON.parse((out ?? Buffer.alloc(0)).toString('utf8'));
}

describe('OpenAI adapter: vLLM error shapes become OpenAI errors', () => {
  it.each([
    [
      'vLLM\'s own shape',
      400,
      '{"object":"error","message":"min_p must be in [0, 1], got 1.5.","type":"BadRequestError","param":null,"code":400}',
      { message: 'min_p must be in [0, 1], got 1.5.', type: 'invalid_request_error', code: null, param: null },
    ],
    [
      'vLLM\'s unknown model',
      404,
      '{"object":"error","message":"The model `gpt-4o` does not exist.","type":"NotFoundError","param":null,"code":404}',
      { message: 'The model `gpt-4o` does not exist.', type: 'not_found_error', code: null, param: null },
    ],
    ['vLLM\'s API-key middleware', 401, '{"error":"Unauthorized"}', { message: 'Unauthorized', type: 'authentication_error', code: null, param: null }],
    ['FastAPI\'s unknown route', 404, '{"detail":"Not Found"}', { message: 'Not Found', type: 'not_found_error', code: null, param: null }],
    [
      'newer vLLM\'s nested shape',
      400,
      '{"error":{"message":"bad top_k","type":"BadRequestError","param":null,"code":400}}',
      { message: 'bad top_k', type: 'invalid_request_error', code: '400', param: null },
    ],
  ])('%s', (_name, status, body, expected) => {
    expect(translateError(status, body)).toEqual({ error: expected });
  });
});

describe('OpenAI adapter against the fake vLLM', () => {
  let fake: FakeVllm;
  beforeAll(async () => {
    fake = await startFakeVllm();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('turns what the fake answers for a bad sampling parameter into the OpenAI shape', async () => {
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], repetition_penalty: -1 }),
    });
    expect(res.status).toBe(400);
    expect(translateError(res.status, await res.text())).toEqual({
      error: { message: 'repetition_penalty must be greater than zero, got -1.', type: 'invalid_request_error', code: null, param: null },
    });
  });
});
