import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MATRIX, startProviderMatrix, type ProviderMatrix } from '../helpers/provider-matrix.ts';

const Answer = z.object({ echo: z.string() });
const lookup = zodFunction({ name: 'lookup', description: 'Look something up', parameters: z.object({ echo: z.string() }) });

/**
 * The official `openai` Node SDK's chat surface against every provider through real Envoy: plain and streamed
 * completions (with and without the usage chunk), the SDK's stream accumulator, a tool call round trip (streamed
 * too), structured output through `chat.completions.parse` with a zod schema, and embeddings. The Responses API
 * matrix is test/e2e/responses-api.test.ts; OpenAI-only details (keys, ids, pacing) are openai-sdk.test.ts.
 */
describe('openai Node SDK × every provider', () => {
  let m: ProviderMatrix;
  beforeAll(async () => {
    m = await startProviderMatrix();
  }, 60_000);
  afterAll(async () => m?.stop());
  beforeEach(() => m.reset());

  it('gives Tollgate\'s own errors the request id the SDK reads (error.requestID), the same as x-tollgate-request-id', async () => {
    const error = await m.h.client().chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
      .then(() => null, (e: unknown) => e as { status: number; requestID: string | null; headers: Headers; code: string });
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(error?.requestID).toMatch(/.+/);
    expect(error?.requestID).toBe(error?.headers.get('x-tollgate-request-id'));
  });

  for (const target of MATRIX) {
    describe(target.label, () => {
      it('chat: plain, streamed (usage chunk only when asked) and the SDK stream helper agree', async () => {
        const client = m.h.client();
        const messages = [{ role: 'user' as const, content: 'the quick brown fox' }];
        const { data, response, request_id: requestId } = await client.chat.completions.create({ model: target.chat, messages }).withResponse();
        expect(data.object).toBe('chat.completion');
        expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: the quick brown fox' });
        expect(data.choices[0]?.finish_reason).toBe('stop');
        expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
        expect(data.usage?.completion_tokens).toBeGreaterThan(0);
        expect(response.headers.get('x-tollgate-provider')).toBe(target.provider);
        // The SDK's request id (`_request_id`): OpenAI's and Azure's own, for the others Tollgate's (they send none).
        const tollgateId = response.headers.get('x-tollgate-request-id');
        expect(requestId).toMatch(/.+/);
        if (target.provider === 'openai' || target.provider === 'azure') expect(requestId).not.toBe(tollgateId);
        else expect(requestId).toBe(tollgateId);

        let text = '';
        let chunks = 0;
        let sawUsage = false;
        for await (const chunk of await client.chat.completions.create({ model: target.chat, messages, stream: true })) {
          // Azure leads with a choice-less chunk holding only its prompt_filter_results; it passes through as sent.
          if (chunk.choices.length > 0) expect(chunk.object).toBe('chat.completion.chunk');
          chunks++;
          text += chunk.choices[0]?.delta.content ?? '';
          if (chunk.usage) sawUsage = true;
        }
        expect(text).toBe('Echo: the quick brown fox');
        expect(chunks).toBeGreaterThan(1);
        const { response: streamResponse } = await client.chat.completions.create({ model: target.chat, messages, stream: true }).withResponse();
        expect(streamResponse.headers.get('x-request-id')).toMatch(/.+/);
        await streamResponse.body?.cancel();
        expect(sawUsage).toBe(false);

        const last: Array<{ choices: number; usage: number | undefined }> = [];
        const withUsage = await client.chat.completions.create({ model: target.chat, messages, stream: true, stream_options: { include_usage: true } });
        for await (const chunk of withUsage) last.push({ choices: chunk.choices.length, usage: chunk.usage?.completion_tokens });
        // OpenAI's shape: usage rides alone on a final chunk with no choices, the chunks before it carry none.
        expect(last.at(-1)).toEqual({ choices: 0, usage: data.usage?.completion_tokens });
        expect(last.slice(0, -1).every((chunk) => chunk.usage === undefined)).toBe(true);

        const final = await client.chat.completions.stream({ model: target.chat, messages }).finalChatCompletion();
        expect(final.choices[0]?.message.content).toBe('Echo: the quick brown fox');
        expect(final.choices[0]?.finish_reason).toBe('stop');
      });

      it('tools: a call (plain and streamed) and its result round trip', async () => {
        const client = m.h.client();
        const question = { role: 'user' as const, content: 'Paris' };
        const first = await client.chat.completions.parse({ model: target.chat, messages: [question], tools: [lookup], tool_choice: 'required' });
        const call = first.choices[0]?.message.tool_calls?.[0];
        expect(first.choices[0]?.finish_reason).toBe('tool_calls');
        if (call?.type !== 'function') throw new Error('no function call');
        expect(call.function.name).toBe('lookup');
        expect(call.function.parsed_arguments).toEqual({ echo: 'Paris' });
        expect(call.id).toMatch(/.+/);

        const streamed = await client.chat.completions.stream({ model: target.chat, messages: [question], tools: [lookup], tool_choice: 'required' }).finalChatCompletion();
        const streamedCall = streamed.choices[0]?.message.tool_calls?.[0];
        expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
        expect(streamedCall?.type === 'function' ? streamedCall.function.parsed_arguments : null).toEqual({ echo: 'Paris' });

        const second = await client.chat.completions.create({
          model: target.chat,
          tools: [lookup],
          messages: [
            question,
            { role: 'assistant', content: null, tool_calls: first.choices[0]?.message.tool_calls },
            { role: 'tool', tool_call_id: call.id, content: 'sunny' },
          ],
        });
        expect(second.choices[0]?.finish_reason).toBe('stop');
        expect(second.choices[0]?.message.content).toContain('sunny');
      });

      it(target.jsonSchema ? 'structured output: chat.completions.parse with a zod schema' : 'structured output: a clear 400 before any provider call', async () => {
        const request = { model: target.chat, messages: [{ role: 'user' as const, content: 'Give me JSON' }], response_format: zodResponseFormat(Answer, 'answer') };
        if (!target.jsonSchema) {
          const refused = await m.h.client().chat.completions.parse(request).then(() => null, (e: unknown) => e as { status: number; message: string; type: string });
          expect(refused).toMatchObject({ status: 400, type: 'invalid_request_error' });
          expect(refused?.message).toMatch(/json_schema/);
          expect(m.anthropic.requestCount).toBe(0);
          return;
        }
        const result = await m.h.client().chat.completions.parse(request);
        expect(result.choices[0]?.message.parsed).toEqual({ echo: expect.any(String) });
        expect(Answer.parse(JSON.parse(result.choices[0]?.message.content ?? ''))).toEqual(result.choices[0]?.message.parsed);
      });

      it('a provider that resets the connection before answering: 502 provider_unreachable, plain and streamed', async () => {
        for (const stream of [false, true]) {
          const error = await m.h.client().chat.completions
            .create({ model: target.chat, messages: [{ role: 'user', content: 'a b c' }], stream }, { headers: { 'x-fake-fault': 'reset' } })
            .then(() => null, (e: unknown) => e as { status: number; code: string; type: string; message: string });
          expect(error).toMatchObject({ status: 502, type: 'api_error', code: 'provider_unreachable' });
        }
        // Cut mid-answer before anything reached the client (a chain's attempt, Gemini's retry-hint filter): the same.
        // Where the client already had the headers, the cut stream fails mid-way instead (never a clean end).
        const cut = await (async () => {
          const stream = await m.h.client().chat.completions
            .create({ model: target.chat, messages: [{ role: 'user', content: 'a b c d e f' }], stream: true }, { headers: { 'x-fake-fault': 'cut-stream=1' } });
          for await (const chunk of stream) void chunk;
        })().then(() => null, (e: unknown) => e as { status?: number; code?: string; message: string });
        expect(cut).not.toBeNull();
        if (cut?.status !== undefined) expect(cut).toMatchObject({ status: 502, code: 'provider_unreachable' });
      });

      if (target.embeddings) {
        const model = target.embeddings;
        it('embeddings: base64 (the SDK default) and float agree', async () => {
          const client = m.h.client();
          const packed = await client.embeddings.create({ model, input: ['alpha', 'beta'] });
          const floats = await client.embeddings.create({ model, input: ['alpha', 'beta'], encoding_format: 'float' });
          expect(packed.object).toBe('list');
          expect(packed.data.map((d) => d.index)).toEqual([0, 1]);
          expect(packed.data[0]?.embedding.length).toBeGreaterThan(0);
          expect(packed.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
          expect(packed.data[0]?.embedding).not.toEqual(packed.data[1]?.embedding);
          expect(packed.usage.prompt_tokens).toBeGreaterThan(0);
        });
      }
    });
  }
});
