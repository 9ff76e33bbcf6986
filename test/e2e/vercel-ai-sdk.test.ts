import { createOpenAI, type OpenAIProvider } from '@ai-sdk/openai';
import { APICallError, Output, embedMany, generateText, isStepCount, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MATRIX, startProviderMatrix, type ProviderMatrix } from '../helpers/provider-matrix.ts';

/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`) pointed at Envoy, against every provider: `generateText` and
 * `streamText` through both of the provider's language models (its default, the Responses API, and `.chat()`, Chat
 * Completions), a tool loop that executes the tool and answers with its result, and `embedMany`.
 */
describe('Vercel AI SDK × every provider', () => {
  let m: ProviderMatrix;
  let openai: OpenAIProvider;
  beforeAll(async () => {
    m = await startProviderMatrix();
    openai = createOpenAI({ baseURL: m.h.baseUrl, apiKey: m.h.key });
  }, 60_000);
  afterAll(async () => m?.stop());
  beforeEach(() => m.reset());

  const lookup = tool({
    description: 'Look something up',
    inputSchema: z.object({ echo: z.string() }),
    execute: async ({ echo }) => `sunny in ${echo}`,
  });

  it('reads the gateway\'s OpenAI-shaped errors: an unknown model is a 404 with the gateway\'s message, not retried', async () => {
    const error = await generateText({ model: openai.chat('no-such-model'), prompt: 'hi', maxRetries: 2 }).then(() => null, (e: unknown) => e);
    expect(APICallError.isInstance(error)).toBe(true);
    if (!APICallError.isInstance(error)) return;
    expect(error.statusCode).toBe(404);
    expect(error.isRetryable).toBe(false);
    expect(error.message).toMatch(/no-such-model/);
    expect(error.data).toMatchObject({ error: { type: 'invalid_request_error', code: 'model_not_found' } });
  });

  for (const target of MATRIX) {
    describe(target.label, () => {
      for (const api of ['responses', 'chat'] as const) {
        it(`${api}: generateText and streamText`, async () => {
          const model = api === 'chat' ? openai.chat(target.chat) : openai(target.chat);
          const whole = await generateText({ model, prompt: 'the quick brown fox' });
          expect(whole.text).toBe('Echo: the quick brown fox');
          expect(whole.finishReason).toBe('stop');
          expect(whole.usage.outputTokens).toBeGreaterThan(0);
          expect(whole.response.headers?.['x-tollgate-provider']).toBe(target.provider);

          const streamed = streamText({ model, prompt: 'jumps over the lazy dog' });
          const parts: string[] = [];
          for await (const part of streamed.textStream) parts.push(part);
          expect(parts.join('')).toBe('Echo: jumps over the lazy dog');
          expect(parts.length).toBeGreaterThan(1);
          expect(await streamed.finishReason).toBe('stop');
          expect((await streamed.usage).outputTokens).toBeGreaterThan(0);

          // A stream the provider cut mid-way reaches the SDK as an error, never as a clean finish. Not retried by the
          // SDK: on the fallback row the chain retries it itself, and more cuts in a row would eject (circuit-break)
          // the provider for the tests after this one.
          const errors: unknown[] = [];
          const cut = streamText({
            model, prompt: 'a b c d e f g h', maxRetries: 0, headers: { 'x-fake-fault': 'cut-stream=2' }, onError: ({ error }) => void errors.push(error),
          });
          let finish: string | null = null;
          for await (const part of cut.fullStream) if (part.type === 'finish') finish = part.finishReason;
          expect(errors.length > 0 || finish === 'error').toBe(true);
          expect(finish).not.toBe('stop');
        });

        it(`${api}: a tool loop calls the tool and answers with its result`, async () => {
          const model = api === 'chat' ? openai.chat(target.chat) : openai(target.chat);
          const result = await generateText({
            model,
            prompt: 'Paris',
            tools: { lookup },
            // Force the call on the first step only (the Gemini fake, like Gemini, may answer in text otherwise).
            prepareStep: ({ stepNumber }) => (stepNumber === 0 ? { toolChoice: 'required' } : {}),
            stopWhen: isStepCount(2),
          });
          expect(result.steps[0]?.toolCalls.map((call) => ({ name: call.toolName, input: call.input }))).toEqual([{ name: 'lookup', input: { echo: 'Paris' } }]);
          expect(result.steps[0]?.finishReason).toBe('tool-calls');
          expect(result.text).toContain('sunny in Paris');
          expect(result.finishReason).toBe('stop');

          const streamed = streamText({ model, prompt: 'Lyon', tools: { lookup }, toolChoice: 'required' });
          const calls = await streamed.toolCalls;
          expect(calls.map((call) => ({ name: call.toolName, input: call.input }))).toEqual([{ name: 'lookup', input: { echo: 'Lyon' } }]);
          expect((await streamed.toolResults).map((r) => r.output)).toEqual(['sunny in Lyon']);
        });

        it(`${api}: structured output with Output.object`, async () => {
          const model = api === 'chat' ? openai.chat(target.chat) : openai(target.chat);
          const request = generateText({ model, prompt: 'Give me JSON', output: Output.object({ schema: z.object({ echo: z.string() }) }) });
          if (!target.jsonSchema) {
            const error = await request.then(() => null, (e: unknown) => e);
            expect(APICallError.isInstance(error) ? { status: error.statusCode, message: error.message } : error).toEqual({ status: 400, message: expect.stringMatching(/json_schema/) });
            return;
          }
          expect((await request).output).toEqual({ echo: expect.any(String) });
        });
      }

      if (target.embeddings) {
        const name = target.embeddings;
        it('embedMany', async () => {
          const { embeddings, usage } = await embedMany({ model: openai.embedding(name), values: ['alpha', 'beta'] });
          expect(embeddings).toHaveLength(2);
          expect(embeddings[0]?.length).toBeGreaterThan(0);
          expect(embeddings[0]).not.toEqual(embeddings[1]);
          expect(usage.tokens).toBeGreaterThan(0);
        });
      }
    });
  }
});
