import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { freePort } from '../helpers/free-port.ts';

const LIMIT = 64 * 1024;

/** Raw HTTP through Envoy: every bad input gets an OpenAI-shaped error with the right status, and no provider call. */
describe('bad input through Envoy', () => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    config.envoy = { max_request_body_bytes: LIMIT, upstream_timeout_ms: 1000 };
    config.requests = { max_json_values: 10_000 };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());
  beforeEach(() => h.fake.reset());

  async function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
    const response = await fetch(`${h.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await response.text();
    return { status: response.status, contentType: response.headers.get('content-type'), text, json: JSON.parse(text) as { error: Record<string, unknown> } };
  }

  function expectOpenAIError(result: { contentType: string | null; json: { error: Record<string, unknown> } }, code: string) {
    expect(result.contentType).toContain('application/json');
    expect(Object.keys(result.json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(result.json.error.code).toBe(code);
    expect(typeof result.json.error.message).toBe('string');
  }

  const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

  it.each([
    ['no key', {}, 401, 'missing_api_key'],
    ['an unknown key', { authorization: 'Bearer tg-not-a-real-key' }, 401, 'invalid_api_key'],
    ['a malformed authorization header', { authorization: 'Basic abc' }, 401, 'missing_api_key'],
  ])('rejects %s with 401', async (_name, headers, status, code) => {
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: chat,
    });
    const json = await response.json() as { error: { code: string } };
    expect(response.status).toBe(status);
    expect(json.error.code).toBe(code);
    expect(h.fake.requestCount).toBe(0);
  });

  it.each([
    ['malformed JSON', '{"model": "gpt-4o-mini", "messages": [', 'invalid_json', null],
    ['a JSON array', '[1,2]', 'invalid_json', null],
    ['missing model', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), 'invalid_request', 'model'],
    ['missing messages', JSON.stringify({ model: 'gpt-4o-mini' }), 'invalid_request', 'messages'],
    ['empty messages', JSON.stringify({ model: 'gpt-4o-mini', messages: [] }), 'invalid_request', 'messages'],
    ['messages of the wrong type', JSON.stringify({ model: 'gpt-4o-mini', messages: 'hi' }), 'invalid_request', 'messages'],
    ['a model of the wrong type', JSON.stringify({ model: 42, messages: [{ role: 'user', content: 'hi' }] }), 'invalid_request', 'model'],
    ['a wrong role', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'hi' }] }), 'invalid_request', 'messages[0].role'],
    ['temperature out of range', JSON.stringify({ model: 'gpt-4o-mini', temperature: 7, messages: [{ role: 'user', content: 'hi' }] }), 'invalid_request', 'temperature'],
    ['stream_options without stream', JSON.stringify({ model: 'gpt-4o-mini', stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }), 'invalid_request', 'stream_options'],
    ['an empty body', '', 'missing_body', null],
    // Found by the fuzz benchmark: each reached the strict provider before.
    ['an embeddings parameter on chat', JSON.stringify({ model: 'gpt-4o-mini', dimensions: 5, messages: [{ role: 'user', content: 'hi' }] }), 'invalid_request', 'dimensions'],
    ['max_tokens past exact JSON integers', '{"model":"gpt-4o-mini","max_tokens":90071992547409910,"messages":[{"role":"user","content":"hi"}]}', 'invalid_request', 'max_tokens'],
    ['an empty content array', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [] }] }), 'invalid_request', 'messages[0].content'],
    ['a user message with null content', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: null }] }), 'invalid_request', 'messages[0].content'],
    ['an assistant turn with neither content nor tool calls', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant' }, { role: 'user', content: 'and?' }] }), 'invalid_request', 'messages[1].content'],
    ['top_logprobs without logprobs', JSON.stringify({ model: 'gpt-4o-mini', top_logprobs: 3, messages: [{ role: 'user', content: 'hi' }] }), 'invalid_request', 'logprobs'],
  ])('rejects %s with 400', async (_name, body, code, param) => {
    const result = await post('/chat/completions', body);
    expect(result.status).toBe(400);
    expectOpenAIError(result, code);
    expect(result.json.error.param).toBe(param);
    expect(h.fake.requestCount).toBe(0);
  });

  it('rejects a body that is not valid UTF-8 with 400', async () => {
    const bytes = Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    const result = await post('/chat/completions', bytes);
    expect(result.status).toBe(400);
    expectOpenAIError(result, 'invalid_encoding');
    expect(h.fake.requestCount).toBe(0);
  });

  it('rejects JSON nested deeper than requests.max_json_depth with 400 json_too_deep, naming the field', async () => {
    // 30,000 nested arrays parse, but would overflow the stack of any recursive JSON.stringify/clone after it.
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const result = await post('/chat/completions', `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`);
    expect(result.status).toBe(400);
    expectOpenAIError(result, 'json_too_deep');
    expect(result.json.error.param).toBe('metadata');
    expect(result.json.error.type).toBe('invalid_request_error');
    expect(h.fake.requestCount).toBe(0);
  });

  it('rejects JSON with more values than requests.max_json_values with 400 json_too_many_values', async () => {
    const result = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: Array.from({ length: 20_000 }, () => 1) }));
    expect(result.status).toBe(400);
    expectOpenAIError(result, 'json_too_many_values');
    expect(result.json.error.param).toBe('input');
    expect(h.fake.requestCount).toBe(0);
  });

  it('rejects embeddings without input with 400', async () => {
    const result = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small' }));
    expect(result.status).toBe(400);
    expect(result.json.error.param).toBe('input');
  });

  it('answers embeddings dimensions over the model\'s own maximum with the provider\'s 400, without the call', async () => {
    const result = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'hi', dimensions: 5000 }));
    expect(result.status).toBe(400);
    expect(result.json.error.param).toBe('dimensions');
    expect(result.json.error.message).toContain('<= 1536');
    expect(h.fake.requestCount).toBe(0);
    const fits = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'hi', dimensions: 256 }));
    expect(fits.status).toBe(200);
  });

  it('answers an unknown model with 404 and a chat model on embeddings with 400', async () => {
    const unknown = await post('/chat/completions', JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }));
    expect(unknown.status).toBe(404);
    expectOpenAIError(unknown, 'model_not_found');
    const wrongKind = await post('/embeddings', JSON.stringify({ model: 'gpt-4o-mini', input: 'x' }));
    expect(wrongKind.status).toBe(400);
    expectOpenAIError(wrongKind, 'model_not_supported');
    expect(h.fake.requestCount).toBe(0);
  });

  it('rejects a model URL with broken percent-encoding with 400, not a 500', async () => {
    const response = await fetch(`${h.baseUrl}/models/%E0%A4%A`, { headers: { authorization: `Bearer ${h.key}` } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('model');
  });

  it('answers an unknown URL with 404', async () => {
    const result = await post('/completions', chat);
    expect(result.status).toBe(404);
    expectOpenAIError(result, 'unknown_url');
  });

  it("maps Envoy's own 413 for a body over the limit to the OpenAI shape", async () => {
    const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(LIMIT + 10) }] });
    const result = await post('/chat/completions', big);
    expect(result.status).toBe(413);
    expectOpenAIError(result, 'request_too_large');
    expect(h.fake.requestCount).toBe(0);
  });

  it("maps Envoy's 504 for a provider that does not answer in time", async () => {
    const result = await post('/chat/completions', chat, { 'x-fake-fault': 'hang' });
    expect(result.status).toBe(504);
    expectOpenAIError(result, 'provider_timeout');
  });

  it('passes provider errors through with their status (429 keeps retry-after)', async () => {
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', 'x-fake-fault': 'status=429;retry-after=7' },
      body: chat,
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    const json = await response.json() as { error: { type: string } };
    expect(json.error.type).toBeTruthy();
  });
});

describe('provider unreachable', () => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    const closedPort = await freePort();
    (config.providers as Record<string, unknown>).down = { type: 'openai', base_url: `http://127.0.0.1:${closedPort}/v1` };
    (config.models as Record<string, unknown>)['down-model'] = { provider: 'down', kind: 'chat' };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());

  it('answers 503 provider_unavailable in the OpenAI shape when the provider refuses connections', async () => {
    const response = await fetch(`${h.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'down-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const json = await response.json() as { error: { code: string; type: string } };
    expect(response.status).toBe(503);
    expect(json.error).toMatchObject({ code: 'provider_unavailable', type: 'api_error' });
  });
});
