import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';
import type { GenerateContentResponse } from '@google/genai';
import { startFakeGemini } from './gemini-provider.ts';
import type { FakeGemini } from './gemini-provider.ts';

const KEY = 'AIza-test-key';
let fake: FakeGemini;
let ai: GoogleGenAI;

beforeAll(async () => {
  fake = await startFakeGemini({ apiKey: KEY });
  // The official SDK proves the fake speaks Google's wire format: it sends real requests and parses the answers.
  ai = new GoogleGenAI({ apiKey: KEY, apiVersion: 'v1beta', httpOptions: { baseUrl: fake.url.replace(/\/v1beta$/, ''), retryOptions: { attempts: 1 } } });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

async function post(path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': KEY }): Promise<{ status: number; text: string; json: GoogleErrorBody; headers: Headers }> {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json = {} as GoogleErrorBody;
  try {
    json = JSON.parse(text) as GoogleErrorBody;
  } catch {
    // HTML or SSE
  }
  return { status: res.status, text, json, headers: res.headers };
}

const GENERATE = '/models/gemini-2.0-flash:generateContent';
const user = (text: string) => ({ role: 'user', parts: [{ text }] });

describe('fake Gemini: generateContent', () => {
  it('answers the official SDK deterministically, with usage', async () => {
    const r = await ai.models.generateContent({
      model: 'gemini-2.0-flash',
      contents: [user('hello there'), { role: 'model', parts: [{ text: 'hi' }] }, user('how are you')],
      config: { systemInstruction: 'be brief', temperature: 0.2, maxOutputTokens: 100 },
    });
    expect(r.text).toBe('Echo: how are you');
    expect(r.candidates?.[0]?.finishReason).toBe('STOP');
    expect(r.modelVersion).toBe('gemini-2.0-flash');
    expect(r.responseId).toMatch(/^fake-gemini-\d+$/);
    // 2 (system) + 2 + 1 + 3 words
    expect(r.usageMetadata).toMatchObject({ promptTokenCount: 8, candidatesTokenCount: 4, totalTokenCount: 12 });
    const recorded = fake.requests[0];
    expect(recorded).toMatchObject({ method: 'POST', path: '/v1beta/models/gemini-2.0-flash:generateContent', query: '' });
    expect(recorded?.headers['x-goog-api-key']).toBe(KEY);
  });

  it('truncates at maxOutputTokens, answers n candidates and JSON mode', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'one two three', config: { maxOutputTokens: 2, candidateCount: 2 } });
    expect(r.candidates?.map((c) => [c.index, c.content?.parts?.[0]?.text, c.finishReason])).toEqual([[0, 'Echo: one', 'MAX_TOKENS'], [1, 'Echo: one', 'MAX_TOKENS']]);
    const j = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'json please', config: { responseMimeType: 'application/json', responseSchema: { type: Type.OBJECT, properties: { echo: { type: Type.STRING } } } } });
    expect(JSON.parse(j.text ?? '')).toEqual({ echo: 'json please' });
  });

  it('calls a function with mode ANY and answers the function response', async () => {
    const tools = [{ functionDeclarations: [{ name: 'lookup', description: 'look up', parameters: { type: Type.OBJECT, properties: { echo: { type: Type.STRING } }, required: ['echo'] } }, { name: 'other' }] }];
    const r = await ai.models.generateContent({
      model: 'gemini-2.0-flash',
      contents: 'weather in Paris',
      config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['other'] } } },
    });
    expect(r.functionCalls).toEqual([{ name: 'other', args: { echo: 'weather in Paris' } }]);

    const auto = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'weather in Paris', config: { tools } });
    expect(auto.text).toBe('Echo: weather in Paris');

    const answer = await ai.models.generateContent({
      model: 'gemini-2.0-flash',
      contents: [user('weather in Paris'), { role: 'model', parts: [{ functionCall: { name: 'other', args: { echo: 'x' } } }] }, { role: 'user', parts: [{ functionResponse: { name: 'other', response: { content: 'sunny' } } }] }],
      config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } } },
    });
    expect(answer.text).toBe('Tool result: {"content":"sunny"}');
  });

  it('blocks a prompt containing the trigger, like Google (no candidates, promptFeedback)', async () => {
    const r = await post(GENERATE, { contents: [user('please [fake:block] this')] });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { candidates?: unknown; promptFeedback: { blockReason: string }; usageMetadata: { promptTokenCount: number } };
    expect(body.candidates).toBeUndefined();
    expect(body.promptFeedback.blockReason).toBe('SAFETY');
    expect(body.usageMetadata.promptTokenCount).toBe(3);
  });
});

describe('fake Gemini: countTokens', () => {
  it('counts contents for the official SDK, and a whole generateContentRequest, as a generation\'s promptTokenCount', async () => {
    const counted = await ai.models.countTokens({ model: 'gemini-2.0-flash', contents: [user('hello there'), { role: 'model', parts: [{ text: 'hi' }] }, user('how are you')] });
    expect(counted.totalTokens).toBe(6);
    expect(fake.requests[0]).toMatchObject({ path: '/v1beta/models/gemini-2.0-flash:countTokens' });
    const request = { model: 'models/gemini-2.0-flash', contents: [user('how are you')], systemInstruction: { parts: [{ text: 'be brief' }] }, generationConfig: { temperature: 0 } };
    const whole = await post('/models/gemini-2.0-flash:countTokens', { generateContentRequest: request });
    expect(whole.status, whole.text).toBe(200);
    expect(JSON.parse(whole.text)).toEqual({ totalTokens: 5, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 5 }] });
    const generated = await post(GENERATE, { ...request, model: undefined });
    expect((JSON.parse(generated.text) as { usageMetadata: { promptTokenCount: number } }).usageMetadata.promptTokenCount).toBe(5);
  });

  it('is strict: both forms at once, a request without or with another model, unknown fields, no key', async () => {
    const path = '/models/gemini-2.0-flash:countTokens';
    const contents = [user('hi')];
    expect((await post(path, { contents, generateContentRequest: { model: 'models/gemini-2.0-flash', contents } })).status).toBe(400);
    expect((await post(path, { generateContentRequest: { contents } })).json.error.message).toContain('model is required');
    expect((await post(path, { generateContentRequest: { model: 'models/gemini-2.5-pro', contents } })).status).toBe(400);
    expect((await post(path, { contents, maxTokens: 3 })).json.error.message).toContain('Unknown name "maxTokens"');
    expect((await post(path, { contents }, {})).status).toBe(403);
    const limited = await post(path, { contents }, { 'x-goog-api-key': KEY, 'x-fake-fault': 'status=429' });
    expect(limited.status).toBe(429);
    expect(limited.json.error.status).toBe('RESOURCE_EXHAUSTED');
  });
});

describe('fake Gemini: streamGenerateContent', () => {
  it('streams SSE events (CRLF framing) whose text adds up to the non-stream answer; usage complete in the last', async () => {
    const contents = 'stream  me   please ';
    const full = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents });
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents })) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((c) => c.text ?? '').join('')).toBe(full.text);
    expect(chunks.slice(0, -1).every((c) => c.candidates?.[0]?.finishReason === undefined && c.usageMetadata?.candidatesTokenCount === undefined)).toBe(true);
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chunks.at(-1)?.usageMetadata).toEqual(full.usageMetadata);
    expect(fake.requests.at(-1)?.query).toBe('?alt=sse');

    const raw = await post('/models/gemini-2.5-flash:streamGenerateContent?alt=sse', { contents: [user('a b')] });
    const events = raw.text.split('\r\n\r\n');
    expect(events.pop()).toBe('');
    expect(events.every((e) => e.startsWith('data: {'))).toBe(true);
  });

  it('refuses a stream without alt=sse', async () => {
    const r = await post('/models/gemini-2.5-flash:streamGenerateContent', { contents: [user('a')] });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/alt=sse/);
  });

  it('streams a function call as one event', async () => {
    const r = await post('/models/gemini-2.5-flash:streamGenerateContent?alt=sse', {
      contents: [user('go')],
      tools: [{ functionDeclarations: [{ name: 'lookup' }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
    });
    const events = r.text.split('\r\n\r\n').filter((e) => e !== '');
    expect(events).toHaveLength(1);
    const event = JSON.parse(events[0]!.slice('data: '.length)) as { candidates: Array<{ content: { parts: unknown[] }; finishReason: string }> };
    expect(event.candidates[0]).toMatchObject({ content: { parts: [{ functionCall: { name: 'lookup', args: { echo: 'go' } } }] }, finishReason: 'STOP' });
  });
});

describe('fake Gemini: embeddings and models', () => {
  it('embeds a batch deterministically through the SDK, and one text with embedContent', async () => {
    const r = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['alpha', 'beta'], config: { outputDimensionality: 4 } });
    expect(r.embeddings).toHaveLength(2);
    expect(r.embeddings?.[0]?.values).toHaveLength(4);
    const again = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['alpha'], config: { outputDimensionality: 4 } });
    expect(again.embeddings?.[0]?.values).toEqual(r.embeddings?.[0]?.values);
    expect(r.embeddings?.[1]?.values).not.toEqual(r.embeddings?.[0]?.values);

    const single = await post('/models/text-embedding-004:embedContent', { content: { parts: [{ text: 'alpha' }] }, outputDimensionality: 4 });
    expect((JSON.parse(single.text) as { embedding: { values: number[] } }).embedding.values).toEqual(r.embeddings?.[0]?.values);
  });

  it('checks the batch: model per request matching the URL, at most 100 requests', async () => {
    const mismatch = await post('/models/gemini-embedding-001:batchEmbedContents', { requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] } }] });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.message).toMatch(/does not match the model in the URL/);
    const tooMany = await post('/models/gemini-embedding-001:batchEmbedContents', { requests: Array.from({ length: 101 }, () => ({ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] } })) });
    expect(tooMany.json.error.message).toMatch(/at most 100 requests/);
  });

  it('lists models', async () => {
    const res = await fetch(`${fake.url}/models`, { headers: { 'x-goog-api-key': KEY } });
    const body = (await res.json()) as { models: Array<{ name: string; supportedGenerationMethods: string[] }> };
    expect(body.models.map((m) => m.name)).toContain('models/gemini-2.0-flash');
    expect(body.models.find((m) => m.name === 'models/text-embedding-004')?.supportedGenerationMethods).toContain('batchEmbedContents');
  });
});

describe('fake Gemini: strictness', () => {
  it('requires the key in x-goog-api-key and refuses it in the URL', async () => {
    const missing = await post(GENERATE, { contents: [user('a')] }, {});
    expect(missing.status).toBe(403);
    expect(missing.json.error.status).toBe('PERMISSION_DENIED');
    const wrong = await post(GENERATE, { contents: [user('a')] }, { 'x-goog-api-key': 'nope' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toMatchObject({ message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' });
    const inUrl = await post(`${GENERATE}?key=${KEY}`, { contents: [user('a')] }, {});
    expect(inUrl.status).toBe(400);
    expect(inUrl.json.error.message).toMatch(/key= query parameter.*x-goog-api-key/);
  });

  it('checks the thinking budget against the model family, as Gemini does', async () => {
    const think = (model: string, thinkingBudget: number) => post(`/models/${model}:generateContent`, { contents: [user('a')], generationConfig: { thinkingConfig: { thinkingBudget } } });
    const zeroOnPro = await think('gemini-2.5-pro', 0);
    expect(zeroOnPro.status).toBe(400);
    expect(zeroOnPro.json.error.message).toBe('Budget 0 is invalid. This model only works in thinking mode.');
    expect((await think('gemini-2.5-pro', 40000)).status).toBe(400);
    expect((await think('gemini-2.5-flash', 0)).status).toBe(200);
    expect((await think('gemini-2.5-pro', -1)).status).toBe(200);
  });

  it('rejects unknown fields at any depth, with Google\'s message', async () => {
    const top = await post(GENERATE, { contents: [user('a')], foo: 1 });
    expect(top.status).toBe(400);
    expect(top.json.error.message).toBe('Invalid JSON payload received. Unknown name "foo": Cannot find field.');
    const nested = await post(GENERATE, { contents: [{ role: 'user', parts: [{ text: 'a', image_url: 'x' }] }] });
    expect(nested.json.error.message).toBe('Invalid JSON payload received. Unknown name "image_url" at \'contents[0].parts[0]\': Cannot find field.');
    const config = await post(GENERATE, { contents: [user('a')], generationConfig: { max_tokens: 5 } });
    expect(config.json.error.message).toMatch(/Unknown name "max_tokens" at 'generation_config'/);
    // snake_case names are accepted, as by Google's parser
    const snake = await post(GENERATE, { contents: [user('a')], generation_config: { max_output_tokens: 5 }, system_instruction: { parts: [{ text: 's' }] } });
    expect(snake.status).toBe(200);
  });

  it('rejects additionalProperties and other JSON Schema keywords in function parameters', async () => {
    const r = await post(GENERATE, {
      contents: [user('a')],
      tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: false } }] }],
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('Invalid JSON payload received. Unknown name "additionalProperties" at \'tools[0].function_declarations[0].parameters\': Cannot find field.');
    const empty = await post(GENERATE, { contents: [user('a')], tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', properties: {} } }] }] });
    expect(empty.json.error.message).toMatch(/parameters\.properties: should be non-empty for OBJECT type/);
    const required = await post(GENERATE, { contents: [user('a')], tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'object', properties: { x: { type: 'string' } }, required: ['y'] } }] }] });
    expect(required.json.error.message).toMatch(/required\[0\]: property is not defined/);
  });

  it('rejects bad roles, empty contents, parts and text, and a broken data oneof', async () => {
    expect((await post(GENERATE, { contents: [{ role: 'assistant', parts: [{ text: 'a' }] }] })).json.error.message).toBe('Please use a valid role: user, model.');
    expect((await post(GENERATE, { contents: [{ role: 'system', parts: [{ text: 'a' }] }] })).status).toBe(400);
    expect((await post(GENERATE, { contents: [] })).json.error.message).toMatch(/contents is not specified/);
    expect((await post(GENERATE, { contents: [{ role: 'user', parts: [] }] })).json.error.message).toMatch(/parts must not be empty/);
    expect((await post(GENERATE, { contents: [user('')] })).json.error.message).toMatch(/empty text parameter/);
    expect((await post(GENERATE, { contents: [{ role: 'user', parts: [{ text: 'a', inlineData: { mimeType: 'image/png', data: 'AA==' } }] }] })).json.error.message).toMatch(/oneof field 'data' is already set/);
    expect((await post(GENERATE, { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: 'not base64!' } }] }] })).json.error.message).toMatch(/Base64 decoding failed/);
    expect((await post(GENERATE, '{"contents": [')).status).toBe(400);
  });

  it('signs function calls of gemini-3 models and wants the signature back', async () => {
    const tools = [{ functionDeclarations: [{ name: 'lookup' }] }];
    const r = await post('/models/gemini-3-pro-preview:generateContent', { contents: [user('go')], tools, toolConfig: { functionCallingConfig: { mode: 'ANY' } } });
    const part = (JSON.parse(r.text) as { candidates: Array<{ content: { parts: Array<{ thoughtSignature?: string }> } }> }).candidates[0]?.content.parts[0];
    expect(part?.thoughtSignature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const history = (signature?: string) => ({
      contents: [user('go'), { role: 'model', parts: [{ functionCall: { name: 'lookup', args: {} }, ...(signature ? { thoughtSignature: signature } : {}) }] }, { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { ok: true } } }] }],
      tools,
    });
    const unsigned = await post('/models/gemini-3-pro-preview:generateContent', history());
    expect(unsigned.status).toBe(400);
    expect(unsigned.json.error.message).toMatch(/^Function call is missing a thought_signature/);
    expect((await post('/models/gemini-3-pro-preview:generateContent', history(part?.thoughtSignature))).status).toBe(200);
    expect((await post(GENERATE, history())).status).toBe(200);
  });

  it('rejects a function response that answers no call of the turn before', async () => {
    const noCall = await post(GENERATE, { contents: [user('a'), { role: 'user', parts: [{ functionResponse: { name: 'f', response: { x: 1 } } }] }] });
    expect(noCall.json.error.message).toBe('Please ensure that function response turn comes immediately after a function call turn.');
    const otherName = await post(GENERATE, {
      contents: [user('a'), { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'g', response: { x: 1 } } }] }],
    });
    expect(otherName.json.error.message).toMatch(/function response name "g" does not match/);
    const notObject = await post(GENERATE, {
      contents: [user('a'), { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: 'sunny' } }] }],
    });
    expect(notObject.json.error.message).toMatch(/google.protobuf.Struct/);
  });

  it('answers unknown models with 404 NOT_FOUND and unknown URLs with Google\'s HTML page', async () => {
    const model = await post('/models/gpt-4o:generateContent', { contents: [user('a')] });
    expect(model.status).toBe(404);
    expect(model.json.error).toMatchObject({ status: 'NOT_FOUND', message: expect.stringMatching(/^models\/gpt-4o is not found for API version v1beta/) });
    const embedWithChatModel = await post('/models/gemini-2.0-flash:batchEmbedContents', { requests: [] });
    expect(embedWithChatModel.status).toBe(404);
    const page = await post('/chat/completions', {});
    expect(page.status).toBe(404);
    expect(page.text).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('fake Gemini: faults', () => {
  it('answers status faults with Google error bodies (RetryInfo for retry-after)', async () => {
    const r = await post(GENERATE, { contents: [user('a')] }, { 'x-goog-api-key': KEY, 'x-fake-fault': 'status=429;retry-after=3' });
    expect(r.status).toBe(429);
    expect(r.json.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).' });
    expect(r.json.error.details?.[0]).toMatchObject({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' });
    expect(r.headers.get('retry-after')).toBeNull();
    fake.pushFault({ kind: 'status', status: 503 });
    const queued = await post(GENERATE, { contents: [user('a')] });
    expect(queued.json.error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
    expect((await post(GENERATE, { contents: [user('a')] })).status).toBe(200);
  });

  it('cuts a stream after some events, without a finishReason', async () => {
    const res = await fetch(`${fake.url}/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY, 'x-fake-fault': 'cut-stream=1' },
      body: JSON.stringify({ contents: [user('one two three four')] }),
    });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('resets the connection on demand', async () => {
    fake.pushFault({ kind: 'reset' });
    await expect(post(GENERATE, { contents: [user('a')] })).rejects.toThrow();
  });
});
