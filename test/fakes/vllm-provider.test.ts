import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_VLLM_MODELS, startFakeVllm } from './vllm-provider.ts';
import type { FakeVllm } from './vllm-provider.ts';

const LLAMA = DEFAULT_VLLM_MODELS.chat[0];
let fake: FakeVllm;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeVllm();
  // vLLM without --api-key ignores whatever key the client sends.
  client = new OpenAI({ baseURL: fake.url, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

interface VllmErrorBody {
  object: string;
  message: string;
  type: string;
  param: null;
  code: number;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: VllmErrorBody & Record<string, unknown> }> {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as VllmErrorBody & Record<string, unknown> };
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: LLAMA, messages: [{ role: 'user', content: 'hello vllm' }], ...extra });

describe('fake vLLM: answers', () => {
  it('answers the OpenAI SDK in vLLM\'s response shape', async () => {
    const r = await client.chat.completions.create({ model: LLAMA, messages: [{ role: 'user', content: 'hello vllm' }] });
    expect(r.model).toBe(LLAMA);
    expect(r.choices[0]?.message.content).toBe('Echo: hello vllm');
    const raw = r as unknown as Record<string, unknown> & { choices: Array<Record<string, unknown> & { message: Record<string, unknown> }>; usage: Record<string, unknown> };
    expect(raw.system_fingerprint).toBeUndefined();
    expect(raw.service_tier).toBeUndefined();
    expect(raw.choices[0]?.stop_reason).toBeNull();
    expect(raw.choices[0]?.message).toEqual({ role: 'assistant', reasoning_content: null, content: 'Echo: hello vllm', tool_calls: [] });
    expect(raw.usage).toEqual({ prompt_tokens: 5, total_tokens: 8, completion_tokens: 3, prompt_tokens_details: null });
  });

  it('serves the first model when the body names none, and lists its models', async () => {
    const r = await post('/chat/completions', { messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe(LLAMA);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([...DEFAULT_VLLM_MODELS.chat, ...DEFAULT_VLLM_MODELS.embeddings]);
    expect(models.data[0]?.owned_by).toBe('vllm');
  });

  it('accepts vLLM\'s extra sampling parameters', async () => {
    const r = await post('/chat/completions', chat({ top_k: 40, min_p: 0.05, repetition_penalty: 1.1, min_tokens: 1, skip_special_tokens: true, chat_template_kwargs: { enable_thinking: false }, top_p: null }));
    expect(r.status).toBe(200);
    expect(fake.requests[0]?.body).toMatchObject({ top_k: 40, min_p: 0.05, repetition_penalty: 1.1 });
  });

  it('streams OpenAI SSE, with the usage chunk only for include_usage and no usage:null on other chunks', async () => {
    const withUsage = await fetch(`${fake.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat({ stream: true, stream_options: { include_usage: true } })) });
    const text = await withUsage.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
    expect(chunks.slice(0, -1).every((c) => !('usage' in c) && !('system_fingerprint' in c))).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });

    const stream = await client.chat.completions.create({ model: LLAMA, messages: [{ role: 'user', content: 'a b' }], stream: true });
    let content = '';
    let sawUsage = false;
    for await (const c of stream) {
      content += c.choices[0]?.delta.content ?? '';
      if (c.usage) sawUsage = true;
    }
    expect(content).toBe('Echo: a b');
    expect(sawUsage).toBe(false);
  });

  it('embeds with its embedding model', async () => {
    const r = await client.embeddings.create({ model: DEFAULT_VLLM_MODELS.embeddings[0], input: 'abc' });
    expect(r.data[0]?.embedding).toHaveLength(8);
  });
});

describe('fake vLLM: errors in vLLM\'s shape', () => {
  it('checks the ranges of vLLM\'s parameters with vLLM\'s messages', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ top_k: -2 }, 'top_k must be 0 (disable), or at least 1, got -2.'],
      [{ min_p: 1.5 }, 'min_p must be in [0, 1], got 1.5.'],
      [{ repetition_penalty: 0 }, 'repetition_penalty must be greater than zero, got 0.'],
      [{ min_tokens: -1 }, 'min_tokens must be greater than or equal to 0, got -1.'],
      [{ top_k: 'many' }, "[{'type': 'int_type', 'loc': ('body', 'top_k'), 'msg': 'Input should be a valid integer', 'input': 'many'}]"],
      [{ top_k: 1.5 }, "[{'type': 'int_type', 'loc': ('body', 'top_k'), 'msg': 'Input should be a valid integer', 'input': 1.5}]"],
    ];
    for (const [extra, message] of cases) {
      const r = await post('/chat/completions', chat(extra));
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ object: 'error', message, type: 'BadRequestError', param: null, code: 400 });
    }
  });

  it('refuses fields neither OpenAI nor vLLM knows, and OpenAI-invalid values', async () => {
    const unknown = await post('/chat/completions', chat({ top_z: 3 }));
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toBe("[{'type': 'extra_forbidden', 'loc': ('body', 'top_z'), 'msg': 'Extra inputs are not permitted', 'input': 3}]");

    const hot = await post('/chat/completions', chat({ temperature: 5 }));
    expect(hot.status).toBe(400);
    expect(hot.json).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400, message: expect.stringMatching(/temperature/) });

    const badJson = await post('/chat/completions', '{"model":');
    expect(badJson.json).toMatchObject({ object: 'error', code: 400, message: expect.stringContaining('json_invalid') });

    const dims = await post('/embeddings', { model: DEFAULT_VLLM_MODELS.embeddings[0], input: 'x', dimensions: 4 });
    expect(dims.json.message).toMatch(/does not support matryoshka representation/);
  });

  it('answers an unknown model with 404 NotFoundError and an unknown route with FastAPI\'s detail', async () => {
    const r = await post('/chat/completions', chat({ model: 'gpt-4o' }));
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ object: 'error', message: 'The model `gpt-4o` does not exist.', type: 'NotFoundError', param: null, code: 404 });

    const route = await fetch(`${fake.url}/responses`, { method: 'POST' });
    expect(route.status).toBe(404);
    expect(await route.json()).toEqual({ detail: 'Not Found' });
    expect((await fetch(`${fake.url}/chat/completions`)).status).toBe(405);
  });

  it('injects faults in vLLM\'s shape', async () => {
    const r = await post('/chat/completions', chat(), { 'x-fake-fault': 'status=503' });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ object: 'error', type: 'ServiceUnavailableError', code: 503 });
  });
});

describe('fake vLLM: --api-key', () => {
  it('guards /v1 with the bearer key, and leaves /health open', async () => {
    const keyed = await startFakeVllm({ apiKey: 'vllm-secret' });
    try {
      const denied = await fetch(`${keyed.url}/models`);
      expect(denied.status).toBe(401);
      expect(await denied.json()).toEqual({ error: 'Unauthorized' });
      const allowed = await fetch(`${keyed.url}/models`, { headers: { authorization: 'Bearer vllm-secret' } });
      expect(allowed.status).toBe(200);
      expect((await fetch(keyed.url.replace(/\/v1$/, '/health'))).status).toBe(200);
    } finally {
      await keyed.close();
    }
  });
});
