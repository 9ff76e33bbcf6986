import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../../src/providers/gemini/adapter.ts';
import { startFakeGemini } from '../../fakes/gemini-provider.ts';
import type { FakeGemini } from '../../fakes/gemini-provider.ts';

/**
 * The translator against the strict fake over real HTTP: what the adapter sends must pass the fake's checks (as it
 * would Google's), and what comes back, read network chunk by network chunk, must become valid OpenAI answers.
 */
const KEY = 'AIza-roundtrip';
let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

interface Exchange {
  status: number;
  text: string;
  usage: ReturnType<typeof geminiAdapter.translateResponse>['usage'];
  truncated: boolean;
}

async function exchange(body: Record<string, unknown>, opts: { endpoint?: 'chat' | 'embeddings'; model?: string; fault?: string } = {}): Promise<Exchange> {
  const endpoint = opts.endpoint ?? 'chat';
  const stream = body.stream === true;
  const upstreamModel = opts.model ?? (endpoint === 'chat' ? 'gemini-2.0-flash' : 'text-embedding-004');
  const base = new URL(fake.url);
  const out = geminiAdapter.translateRequest({
    endpoint,
    body,
    stream,
    target: { providerName: 'google', provider: { type: 'gemini', base_url: fake.url }, basePath: base.pathname, upstreamModel, credential: KEY },
  });
  const res = await fetch(`${base.origin}${out.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...out.headers, ...(opts.fault ? { 'x-fake-fault': opts.fault } : {}) },
    body: JSON.stringify(out.body),
  });
  const translator = geminiAdapter.translateResponse({
    endpoint,
    stream,
    status: res.status,
    clientWantsUsage: (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true,
    requestId: 'rt-1',
    createdAt: 1_700_000_000,
    upstreamModel,
    request: body,
  });
  let text = '';
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = Buffer.from(value);
      text += (translator.onChunk(chunk, false) ?? chunk).toString();
    }
  } catch {
    // the provider reset the connection: the translator still sees the end of what came
  }
  text += (translator.onChunk(Buffer.alloc(0), true) ?? Buffer.alloc(0)).toString();
  return { status: res.status, text, usage: translator.usage, truncated: translator.truncated };
}

const sseData = (text: string): string[] => text.split('\n\n').filter((e) => e !== '').map((e) => e.slice('data: '.length));

const TOOLS = [{
  type: 'function',
  function: {
    name: 'lookup',
    description: 'Look something up',
    strict: true,
    parameters: { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'], additionalProperties: false },
  },
}];

describe('Gemini adapter ↔ strict fake over HTTP', () => {
  it('chat: the fake accepts the translated request and the answer is a chat.completion', async () => {
    const r = await exchange({
      model: 'gemini-flash',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }],
      temperature: 0.5,
      max_tokens: 50,
      stop: ['END'],
      user: 'u-1',
    });
    expect(r.status).toBe(200);
    const completion = JSON.parse(r.text);
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gemini-2.0-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
    });
    expect(completion.id).toMatch(/^chatcmpl-fake-gemini-\d+$/);
    expect(r.usage).toEqual({ promptTokens: 4, completionTokens: 3, totalTokens: 7 });
    const sent = fake.requests[0];
    expect(sent?.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(sent?.query).toBe('');
    expect(sent?.headers['x-goog-api-key']).toBe(KEY);
  });

  it('stream: chunks add up to the non-stream answer, usage chunk when asked, [DONE] last', async () => {
    const messages = [{ role: 'user', content: 'stream  me   please' }];
    const full = JSON.parse((await exchange({ model: 'g', messages })).text);
    const r = await exchange({ model: 'g', messages, stream: true, stream_options: { include_usage: true } });
    expect(fake.requests.at(-1)?.query).toBe('?alt=sse');
    const data = sseData(r.text);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(full.choices[0].message.content);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: full.usage });
    expect(r.truncated).toBe(false);
    expect(r.usage?.totalTokens).toBe(full.usage.total_tokens);

    const quiet = await exchange({ model: 'g', messages, stream: true });
    expect(sseData(quiet.text).some((d) => d.includes('"usage"'))).toBe(false);
    expect(quiet.usage?.totalTokens).toBe(full.usage.total_tokens);
  });

  it('tools: a required tool call comes back as tool_calls and its result goes back as a functionResponse', async () => {
    const messages: Array<Record<string, unknown>> = [{ role: 'user', content: 'weather in Paris' }];
    const first = JSON.parse((await exchange({ model: 'g', messages, tools: TOOLS, tool_choice: 'required' })).text);
    const message = first.choices[0].message;
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(message.tool_calls[0]).toMatchObject({ type: 'function', function: { name: 'lookup', arguments: '{"echo":"weather in Paris"}' } });

    const second = await exchange({
      model: 'g',
      tools: TOOLS,
      tool_choice: 'required',
      messages: [...messages, message, { role: 'tool', tool_call_id: message.tool_calls[0].id, content: 'sunny 21C' }],
    });
    expect(second.status).toBe(200);
    expect(JSON.parse(second.text).choices[0].message.content).toBe('Tool result: {"content":"sunny 21C"}');

    const streamed = sseData((await exchange({ model: 'g', messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'lookup' } }, stream: true })).text);
    const call = JSON.parse(streamed[0] ?? '').choices[0].delta.tool_calls[0];
    expect(call).toMatchObject({ index: 0, type: 'function', function: { name: 'lookup', arguments: '{"echo":"weather in Paris"}' } });
    expect(streamed.at(-1)).toBe('[DONE]');
  });

  it('tools with a Gemini 3 model: the thought signature survives the round trip through the client', async () => {
    const messages: Array<Record<string, unknown>> = [{ role: 'user', content: 'weather in Rome' }];
    const model = 'gemini-3-pro-preview';
    const first = JSON.parse((await exchange({ model: 'g', messages, tools: TOOLS, tool_choice: 'required' }, { model })).text);
    const message = first.choices[0].message;
    expect(message.tool_calls[0].id).toContain('__thought__');
    const second = await exchange({ model: 'g', tools: TOOLS, messages: [...messages, message, { role: 'tool', tool_call_id: message.tool_calls[0].id, content: '{"temp":25}' }] }, { model });
    expect(second.status).toBe(200);
    expect(JSON.parse(second.text).choices[0].message.content).toBe('Tool result: {"temp":25}');
  });

  it('images: inline data passes the fake', async () => {
    const r = await exchange({ model: 'g', messages: [{ role: 'user', content: [{ type: 'text', text: 'describe' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).choices[0].message.content).toBe('Echo: describe');
  });

  it('embeddings: single and batch, floats and base64, in input order', async () => {
    const single = JSON.parse((await exchange({ model: 'e', input: 'alpha', encoding_format: 'float' }, { endpoint: 'embeddings' })).text);
    expect(single).toMatchObject({ object: 'list', model: 'text-embedding-004', data: [{ object: 'embedding', index: 0 }], usage: { prompt_tokens: 2, total_tokens: 2 } });
    expect(single.data[0].embedding).toHaveLength(8);
    const batch = JSON.parse((await exchange({ model: 'e', input: ['beta', 'alpha'], dimensions: 8, encoding_format: 'base64' }, { endpoint: 'embeddings' })).text);
    const decoded = batch.data.map((d: { embedding: string }) => {
      const bytes = Buffer.from(d.embedding, 'base64');
      return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    });
    expect(decoded[1]).toEqual(single.data[0].embedding);
    expect(decoded[0]).not.toEqual(decoded[1]);
  });

  it('errors: Google statuses become OpenAI errors with Google\'s message and status string', async () => {
    const limited = await exchange({ model: 'g', messages: [{ role: 'user', content: 'x' }] }, { fault: 'status=429;retry-after=1' });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.text)).toEqual({ error: { message: 'Resource has been exhausted (e.g. check quota).', type: 'rate_limit_error', code: 'RESOURCE_EXHAUSTED', param: null } });
    const failing = await exchange({ model: 'g', stream: true, messages: [{ role: 'user', content: 'x' }] }, { fault: 'status=500' });
    expect(JSON.parse(failing.text).error).toMatchObject({ type: 'api_error', code: 'INTERNAL' });
    const unknown = await exchange({ model: 'g', messages: [{ role: 'user', content: 'x' }] }, { model: 'gemini-9-ultra' });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error).toMatchObject({ type: 'not_found_error', code: 'NOT_FOUND', message: expect.stringMatching(/^models\/gemini-9-ultra is not found/) });
  });

  it('a stream the provider cuts ends with an error event, never [DONE]', async () => {
    const r = await exchange({ model: 'g', stream: true, messages: [{ role: 'user', content: 'one two three four five' }] }, { fault: 'cut-stream=2' });
    const data = sseData(r.text);
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1) ?? '').error.code).toBe('stream_truncated');
    expect(r.truncated).toBe(true);
  });
});
