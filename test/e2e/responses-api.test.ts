import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { FAKE_AZURE_KEY, startFakeAzure, type FakeAzure } from '../fakes/azure-provider.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-provider.ts';
import { startFakeVllm, type FakeVllm } from '../fakes/vllm-provider.ts';
import { DEFAULT_FORWARD_HEADERS } from '../../src/config/schema.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { useRedisServer } from '../helpers/redis-server.ts';
import { FAKE_CONTROL_HEADERS, PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

const ANTHROPIC_KEY = 'sk-ant-fake-key';
const GEMINI_KEY = 'gemini-fake-key';
const CLAUDE = 'claude-sonnet-4-5';
const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'], additionalProperties: false },
  strict: true,
};
const answerSchema = { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'], additionalProperties: false };

/** Every provider the Responses API reaches: OpenAI in its own dialect, the others through the chat translation. */
const MODELS = ['gpt-4o-mini', 'llama', 'claude', 'gemini-pro', 'azure-4o'] as const;

/**
 * POST /v1/responses through real Envoy with the official `openai` SDK, answered by the strict fakes of every
 * provider: OpenAI in the Responses dialect (passthrough), vLLM, Anthropic, Gemini and Azure through the chat
 * translation, and fallback chains across them that still answer the caller in the Responses dialect. The same
 * stages as chat apply: cache, quotas, ledger.
 */
describe('Responses API through Envoy with the OpenAI SDK', () => {
  let h: Harness;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let azure: FakeAzure;
  let vllm: FakeVllm;
  let dir: string;
  let n = 0;
  /** Each test asks something new, so the cache (on in this suite) answers only where a test wants it to. */
  const unique = (text: string) => `${text} ${++n}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-responses-e2e-'));
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    gemini = await startFakeGemini({ apiKey: GEMINI_KEY });
    azure = await startFakeAzure({ region: 'swedencentral' });
    vllm = await startFakeVllm();
    process.env.TEST_ANTHROPIC_KEY = ANTHROPIC_KEY;
    process.env.TEST_GEMINI_KEY = GEMINI_KEY;
    process.env.TEST_AZURE_KEY = FAKE_AZURE_KEY;
    const config = testConfig();
    config.providers = {
      // The fake is not api.openai.com, so it is told it speaks the Responses API.
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', responses_api: true },
      vllm: { type: 'openai', base_url: vllm.url },
      anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY', default_max_tokens: 512 },
      gemini: { type: 'gemini', base_url: gemini.url, api_key_env: 'TEST_GEMINI_KEY' },
      azure: { type: 'azure', base_url: azure.url, api_key_env: 'TEST_AZURE_KEY', api_version: '2024-10-21' },
    };
    config.models = {
      'gpt-4o-mini': { provider: 'openai', kind: 'chat' },
      llama: { provider: 'vllm', upstream_model: LLAMA },
      claude: { provider: 'anthropic', upstream_model: CLAUDE },
      'gemini-pro': { provider: 'gemini', upstream_model: 'gemini-2.5-pro' },
      'azure-4o': { provider: 'azure', upstream_model: 'gpt-4o' },
      'openai-first': { targets: [{ provider: 'openai', model: 'gpt-4o' }, { provider: 'anthropic', model: CLAUDE }] },
      'claude-first': { targets: [{ provider: 'anthropic', model: CLAUDE }, { provider: 'openai', model: 'gpt-4o' }] },
      'gemini-then-vllm': { targets: [{ provider: 'gemini', model: 'gemini-2.5-pro' }, { provider: 'vllm', model: LLAMA }] },
    };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {} } }, small: { apps: { app: {} } } } } };
    config.cache = { defaults: { ttl_seconds: 60 } };
    config.quotas = { default_max_tokens: 64, limits: { team: { 'acme/small': { tpm: 40 } } } };
    config.requests = { forward_headers: [...DEFAULT_FORWARD_HEADERS, ...FAKE_CONTROL_HEADERS, 'x-fake-stream-error-after'] };
    config.ledger = { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20 };
    // Fallback and error tests see each provider's answer once (same-provider retries: test/e2e/retries.test.ts).
    config.routing = { retries: { max: 0 } };
    h = await startHarness({ config });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await Promise.all([anthropic?.close(), gemini?.close(), azure?.close(), vllm?.close()]);
    await rm(dir, { recursive: true, force: true });
    delete process.env.TEST_ANTHROPIC_KEY;
    delete process.env.TEST_GEMINI_KEY;
    delete process.env.TEST_AZURE_KEY;
  });
  beforeEach(() => {
    for (const fake of [h.fake, anthropic, gemini, azure, vllm]) fake.reset();
  });


  it('passes a plain request through to OpenAI in its own dialect and answers a Response', async () => {
    const input = unique('Hello there');
    const { data, response } = await h.client().responses.create({
      model: 'gpt-4o-mini', instructions: 'Be brief.', input, metadata: { ticket: 'T-1' }, store: false,
    }).withResponse();
    expect(data.object).toBe('response');
    // The gateway's id (from its request id), never the provider's: the one GET /v1/responses/{id} would know.
    expect(data.id).toBe(`resp_${(response.headers.get('x-tollgate-request-id') ?? '').replaceAll('-', '')}`);
    expect(data).toMatchObject({ store: false });
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe(`Echo: ${input}`);
    expect(data.metadata).toEqual({ ticket: 'T-1' });
    expect(data.usage?.total_tokens).toBe((data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0));
    expect(data.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    const sent = h.fake.requests[0];
    expect(sent?.path).toBe('/v1/responses');
    expect(sent?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(sent?.body).toMatchObject({ model: 'gpt-4o-mini', instructions: 'Be brief.', store: false, metadata: { ticket: 'T-1' } });

    const record = await h.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    expect(record).toMatchObject({
      state: 'final', endpoint: 'responses', model: 'gpt-4o-mini', provider: 'openai', status: 200, outcome: 'completed',
      promptTokens: data.usage?.input_tokens, completionTokens: data.usage?.output_tokens,
    });
  });

  for (const model of MODELS) {
    it(`${model}: plain, streamed (typed events, usage) and the SDK's stream helper agree`, async () => {
      const input = unique('the quick brown fox');
      const whole = await h.client().responses.create({ model, input });
      expect(whole.output_text).toBe(`Echo: ${input}`);
      expect(whole.usage?.output_tokens).toBeGreaterThan(0);

      const stream = await h.client().responses.create({ model, input: unique('jumps over the lazy dog'), stream: true });
      const types: string[] = [];
      let text = '';
      let completed: OpenAI.Responses.Response | null = null;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event.response;
      }
      expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(1);
      expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
      expect(text).toBe(`Echo: jumps over the lazy dog ${n}`);
      expect(completed?.usage?.output_tokens).toBeGreaterThan(0);
      expect(completed?.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text }] });

      // The SDK's own accumulator checks every event against its snapshot (item and part indexes, ids).
      const helper = h.client().responses.stream({ model, input: unique('helper') });
      const final = await helper.finalResponse();
      expect(final.output_text).toBe(`Echo: helper ${n}`);
    });

    it(`${model}: function tools round trip (call, then function_call_output)`, async () => {
      const city = unique('Paris');
      const first = await h.client().responses.create({ model, input: city, tools: [weatherTool], tool_choice: 'required' });
      const call = first.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
      if (call?.type !== 'function_call') throw new Error('no function call');
      expect(JSON.parse(call.arguments)).toEqual({ echo: city });
      const second = await h.client().responses.create({
        model,
        tools: [weatherTool],
        input: [
          { role: 'user', content: city },
          { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
          { type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' },
        ],
      });
      expect(second.output_text).toContain('{"temp":21}');

      const streamed = await h.client().responses.create({ model, input: unique('Lyon'), tools: [weatherTool], tool_choice: 'required', stream: true });
      let args = '';
      let done = '';
      for await (const event of streamed) {
        if (event.type === 'response.function_call_arguments.delta') args += event.delta;
        if (event.type === 'response.function_call_arguments.done') done = event.arguments;
      }
      expect(args).toBe(done);
      expect(JSON.parse(done)).toEqual({ echo: `Lyon ${n}` });
    });

    it(`${model}: structured output with text.format json_schema parses against the schema`, async () => {
      const result = await h.client().responses.create({
        model,
        input: unique('Give me JSON'),
        text: { format: { type: 'json_schema', name: 'answer', schema: answerSchema, strict: true } },
      });
      const parsed: unknown = JSON.parse(result.output_text);
      expect(new Ajv().validate(answerSchema, parsed)).toBe(true);
      expect(result.text?.format).toMatchObject({ type: 'json_schema', name: 'answer' });
    });
  }

  it('falls back from OpenAI (500) to Anthropic and answers in the Responses dialect, streamed too', async () => {
    h.fake.pushFault({ kind: 'status', status: 500 }, 2);
    const input = unique('to claude');
    const { data, response } = await h.client().responses.create({ model: 'openai-first', input }).withResponse();
    expect(data.object).toBe('response');
    expect(data.output_text).toBe(`Echo: ${input}`);
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    expect(response.headers.get('x-tollgate-attempts')).toBe('2');
    expect(h.fake.requests[0]?.path).toBe('/v1/responses');
    expect(anthropic.requests[0]?.body).toMatchObject({ model: CLAUDE, max_tokens: 512 });
    expect(JSON.stringify(anthropic.requests[0]?.body)).not.toContain('x_tollgate');

    const stream = h.client().responses.stream({ model: 'openai-first', input: unique('stream from claude') });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(`Echo: stream from claude ${n}`);
  });

  it('falls back from Anthropic (529) to OpenAI, which gets the Responses dialect in the chain', async () => {
    anthropic.pushFault({ kind: 'status', status: 529 });
    const input = unique('to openai');
    const { data, response } = await h.client().responses.create({ model: 'claude-first', input, metadata: { via: 'chain' } }).withResponse();
    expect(data.output_text).toBe(`Echo: ${input}`);
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    expect(h.fake.requests[0]).toMatchObject({ path: '/v1/responses', body: { model: 'gpt-4o', metadata: { via: 'chain' }, store: false } });
    expect(JSON.stringify(h.fake.requests[0]?.body)).not.toContain('x_tollgate');
  });

  it('falls back from Gemini (429) to a chat-only vLLM server', async () => {
    gemini.pushFault({ kind: 'status', status: 429 });
    const input = unique('to vllm');
    const { data, response } = await h.client().responses.create({ model: 'gemini-then-vllm', input }).withResponse();
    expect(data.output_text).toBe(`Echo: ${input}`);
    expect(response.headers.get('x-tollgate-provider')).toBe('vllm');
    expect(vllm.requests[0]?.path).toBe('/v1/chat/completions');
  });

  it('rejects unknown and untranslated parameters, and store/previous_response_id without a store, with clear 400s', async () => {
    const client = h.client();
    const failure = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as { status: number; code: string; param: string; message: string });
    const unknown = await failure(client.responses.create({ model: 'gpt-4o-mini', input: 'x', bogus: 1 } as never));
    expect(unknown).toMatchObject({ status: 400, code: 'unknown_parameter', param: 'bogus' });
    const unsupported = await failure(client.responses.create({ model: 'gpt-4o-mini', input: 'x', tools: [{ type: 'web_search' }] }));
    expect(unsupported).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'tools[0].type' });
    const stored = await failure(client.responses.create({ model: 'gpt-4o-mini', input: 'x', store: true }));
    expect(stored).toMatchObject({ status: 400, code: 'response_store_not_configured', param: 'store' });
    const previous = await failure(client.responses.create({ model: 'gpt-4o-mini', input: 'x', previous_response_id: 'resp_1' }));
    expect(previous).toMatchObject({ status: 400, code: 'response_store_not_configured' });
    const read = await failure(client.responses.retrieve('resp_123'));
    expect(read).toMatchObject({ status: 404, code: 'response_store_not_configured' });
    const badKey = await failure(h.client('tg-wrong').responses.create({ model: 'gpt-4o-mini', input: 'x' }));
    expect(badKey?.status).toBe(401);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('passes a provider error on in the OpenAI error shape with its status', async () => {
    h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 2 });
    const error = await h.client().responses.create({ model: 'gpt-4o-mini', input: unique('limited') })
      .then(() => null, (e: unknown) => e as { status: number; error: { type: string; code: string } });
    expect(error?.status).toBe(429);
    expect(error?.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
  });

  it('ends a stream the provider failed mid-way with an error event, never response.completed', async () => {
    const stream = await h.client().responses.create(
      { model: 'gpt-4o-mini', input: unique('fail me please now'), stream: true },
      { headers: { 'x-fake-fault': 'cut-stream=5' } },
    );
    const types: string[] = [];
    const outcome = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().then(() => 'ended', (e: unknown) => e as Error);
    expect(types).not.toContain('response.completed');
    // Either the SDK raised the error event, or it saw error + response.failed.
    if (outcome === 'ended') expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    else expect((outcome as Error).message).toMatch(/ended the stream before it was complete|terminated|error/i);
  });

  it('passes a provider-side response.failed on as error + response.failed, and meters it as aborted', async () => {
    const { data: stream, response } = await h.client().responses.create(
      { model: 'gpt-4o-mini', input: unique('fail in the middle please'), stream: true },
      { headers: { 'x-fake-stream-error-after': '5' } },
    ).withResponse();
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    // The SDK raises an `error` event as an APIError, as it does for OpenAI itself.
    const thrown = await (async () => {
      for await (const event of stream) events.push(event);
    })().then(() => null, (e: unknown) => e as { code: string; message: string });
    expect(thrown).toMatchObject({ code: 'server_error', message: 'The model failed while generating the response.' });
    expect(events.length).toBeGreaterThan(2);
    expect(events.some((e) => e.type === 'response.completed')).toBe(false);
    const record = await h.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    expect(record).toMatchObject({ endpoint: 'responses', outcome: 'aborted' });
  });

  it('answers a repeated request from the cache, in the Responses dialect, plain and streamed', async () => {
    const input = unique('cache me');
    const first = await h.client().responses.create({ model: 'claude', input, temperature: 0 }).withResponse();
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    const second = await h.client().responses.create({ model: 'claude', input, temperature: 0 }).withResponse();
    expect(second.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(second.data.object).toBe('response');
    expect(second.data.output_text).toBe(first.data.output_text);
    expect(anthropic.requests).toHaveLength(1);
    const streamInput = unique('cache my stream');
    await h.client().responses.stream({ model: 'claude', input: streamInput, temperature: 0 }).finalResponse();
    const replay = h.client().responses.stream({ model: 'claude', input: streamInput, temperature: 0 });
    expect((await replay.finalResponse()).output_text).toBe(`Echo: ${streamInput}`);
    expect(anthropic.requests).toHaveLength(2);
  });

  it('reserves and enforces the team quota on max_output_tokens like chat', async () => {
    const key = await h.createKey('small', 'app');
    const error = await h.client(key).responses.create({ model: 'gpt-4o-mini', input: unique('too big'), max_output_tokens: 100 })
      .then(() => null, (e: unknown) => e as { status: number });
    expect(error?.status).toBe(429);
    expect(h.fake.requests).toHaveLength(0);
  });
});

/**
 * The response store (config `responses.store`) on a real Redis: `store` answers (OpenAI's default) are kept with a
 * TTL, read and deleted by their own app only, and continued by previous_response_id with the whole conversation.
 */
describe('Responses API with a Redis response store', () => {
  const redis = useRedisServer();
  let h: Harness;
  let anthropic: FakeAnthropic;
  let store: RedisStore;

  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    process.env.TEST_ANTHROPIC_KEY = ANTHROPIC_KEY;
    store = new RedisStore({ url: redis.url });
    const config = testConfig();
    config.providers = {
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', responses_api: true },
      anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY', default_max_tokens: 512 },
    };
    config.models = { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' }, claude: { provider: 'anthropic', upstream_model: CLAUDE } };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {}, other: {} } } } } };
    config.responses = { store: true, ttl_seconds: 600 };
    h = await startHarness({ config, store });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await anthropic?.close();
    await store?.close();
    delete process.env.TEST_ANTHROPIC_KEY;
  });
  beforeEach(() => {
    h.fake.reset();
    anthropic.reset();
  });

  for (const model of ['gpt-4o-mini', 'claude']) {
    it(`${model}: keeps a response (TTL), continues it with previous_response_id, and deletes it`, async () => {
      const client = h.client();
      const first = await client.responses.create({ model, instructions: 'Be brief.', input: `My name is Ada (${model})` });
      expect(first).toMatchObject({ store: true });
      const ttl = await store.ttlMs(`tollgate:response:${first.id}`);
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
      const read = await client.responses.retrieve(first.id);
      expect(read).toMatchObject({ id: first.id, object: 'response', status: 'completed', store: true });
      expect(read.output_text).toBe(first.output_text);

      // The follow-up carries the whole conversation to the provider; instructions are not carried over.
      const second = await client.responses.create({ model, previous_response_id: first.id, input: 'What is my name?' });
      expect(second.output_text).toBe('Echo: What is my name?');
      const sent = (model === 'claude' ? anthropic.requests : h.fake.requests).at(-1)?.body as Record<string, unknown>;
      const text = JSON.stringify(sent);
      expect(text).toContain(`My name is Ada (${model})`);
      expect(text).toContain(first.output_text);
      expect(text).not.toContain('Be brief.');

      // Its input items: the earlier turns and the new input, newest first (the SDK pages through them).
      const items: Array<{ type: string; role?: string; content?: Array<{ text?: string }> }> = [];
      for await (const item of client.responses.inputItems.list(second.id, { limit: 2 })) items.push(item as never);
      expect(items.map((i) => [i.type, i.role, i.content?.[0]?.text])).toEqual([
        ['message', 'user', 'What is my name?'],
        ['message', 'assistant', first.output_text],
        ['message', 'user', `My name is Ada (${model})`],
      ]);

      // A streamed follow-up is stored too, and continues the chain.
      const third = await client.responses.stream({ model, previous_response_id: second.id, input: 'And again?' }).finalResponse();
      await expect.poll(() => store.get(`tollgate:response:${third.id}`).then(Boolean)).toBe(true);
      await client.responses.create({ model, previous_response_id: third.id, input: 'Last one' });
      expect(JSON.stringify((model === 'claude' ? anthropic.requests : h.fake.requests).at(-1)?.body)).toContain('What is my name?');

      // Another app of the same team cannot see it.
      const otherKey = await h.createKey('platform', 'other');
      const hidden = await h.client(otherKey).responses.retrieve(first.id).then(() => null, (e: unknown) => e as { status: number; code: string });
      expect(hidden).toMatchObject({ status: 404, code: 'response_not_found' });
      const foreign = await h.client(otherKey).responses.create({ model, previous_response_id: first.id, input: 'x' })
        .then(() => null, (e: unknown) => e as { status: number; code: string });
      expect(foreign).toMatchObject({ status: 400, code: 'previous_response_not_found' });

      const deleted = await client.responses.delete(first.id).then(() => 'deleted', (e: unknown) => e);
      expect(deleted).toBe('deleted');
      const gone = await client.responses.retrieve(first.id).then(() => null, (e: unknown) => e as { status: number });
      expect(gone?.status).toBe(404);
    });
  }

  it('does not keep a response sent with store: false', async () => {
    const response = await h.client().responses.create({ model: 'gpt-4o-mini', input: 'forget me', store: false });
    expect(response).toMatchObject({ store: false });
    const read = await h.client().responses.retrieve(response.id).then(() => null, (e: unknown) => e as { status: number });
    expect(read?.status).toBe(404);
  });
});

/** Output guardrails see the answer in its chat form, before it becomes a Response: masks and stops apply alike. */
describe('Responses API with output guardrails', () => {
  let h: Harness;
  let n = 0;
  const unique = (text: string) => `${text} ${++n}`;
  beforeAll(async () => {
    const config = testConfig();
    config.providers = {
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', responses_api: true },
      // The same fake, reached through the chat translation, as a chat-only OpenAI-compatible server would be.
      'openai-chat': { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', responses_api: false },
    };
    config.models = { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' }, 'chat-path': { provider: 'openai-chat', upstream_model: 'gpt-4o-mini' } };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
    config.guardrails = { output: { redact: ['email'], block: ['secret'], window_chars: 32 } };
    h = await startHarness({ config });
  }, 60_000);
  afterAll(async () => h?.stop());

  it('applies the output guardrails: masks in answers and streams, stops a stream that carries a secret', async () => {
    const masked = await h.client().responses.create({ model: 'gpt-4o-mini', input: unique('write to ada.lovelace@vinamilk.com.vn today') });
    expect(masked.output_text).toContain('[REDACTED_EMAIL]');
    expect(masked.output_text).not.toContain('vinamilk');
    const stream = h.client().responses.stream({ model: 'gpt-4o-mini', input: unique('mail ada.lovelace@vinamilk.com.vn soon') });
    const final = await stream.finalResponse();
    expect(final.output_text).toContain('[REDACTED_EMAIL]');
    expect(final.output_text).not.toContain('vinamilk');

    const secret = await h.client().responses.create({
      model: 'chat-path', stream: true, input: unique('Use the key sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a for staging please.'),
    });
    let text = '';
    const read = async () => {
      for await (const event of secret) if (event.type === 'response.output_text.delta') text += event.delta;
    };
    await expect(read()).rejects.toThrow(/output guardrail/);
    expect(text).not.toContain('sk-proj');
    const blocked = await h.client().responses.create({ model: 'chat-path', input: unique('db password: Tr0ub4dor&3 in prod') });
    expect(blocked).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
    expect(blocked.output_text).toBe('');
  });

  it('reaches a chat-only server on /chat/completions', async () => {
    h.fake.reset();
    const answer = await h.client().responses.create({ model: 'chat-path', input: unique('plain chat') });
    expect(answer.output_text).toBe(`Echo: plain chat ${n}`);
    expect(h.fake.requests[0]?.path).toBe('/v1/chat/completions');
  });
});
