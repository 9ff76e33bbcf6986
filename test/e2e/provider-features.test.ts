import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/ledger/usage-record.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { FAKE_AZURE_KEY, startFakeAzure, type FakeAzure } from '../fakes/azure-provider.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-provider.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

const ANTHROPIC_KEY = 'sk-ant-features';
const MIB = 1024 * 1024;
const GEMINI_KEY = 'gemini-features-key';
const CLAUDE = 'claude-sonnet-4-5';

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    languages: { type: 'array', items: { type: 'string' } },
    level: { type: 'string', enum: ['junior', 'senior'] },
  },
  required: ['name', 'age', 'languages', 'level'],
  additionalProperties: false,
};
const validPerson = new Ajv({ strict: false }).compile(PERSON);
const personFormat = { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } } as const;

/** A 1x1 PNG. */
const PNG_DATA_URL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/**
 * OpenAI request features mapped to each provider's native mechanism, end to end: the official OpenAI SDK against
 * Envoy, Tollgate translating per attempt, the strict Anthropic and Gemini fakes answering; the ledger (SQLite)
 * shows what was metered and priced.
 */
describe('provider features through Envoy with the OpenAI SDK', () => {
  let h: Harness;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let azure: FakeAzure;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-features-e2e-'));
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    gemini = await startFakeGemini({ apiKey: GEMINI_KEY });
    azure = await startFakeAzure({ region: 'swedencentral' });
    process.env.TEST_FEATURES_ANTHROPIC_KEY = ANTHROPIC_KEY;
    process.env.TEST_FEATURES_AZURE_KEY = FAKE_AZURE_KEY;
    process.env.TEST_FEATURES_GEMINI_KEY = GEMINI_KEY;
    const config = testConfig();
    config.providers = {
      ...(config.providers as object),
      anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_FEATURES_ANTHROPIC_KEY' },
      // The same API, with shared prefixes of 1,024+ tokens cached by config.
      'anthropic-cached': { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_FEATURES_ANTHROPIC_KEY', cache_prefix_min_tokens: 1024 },
      gemini: { type: 'gemini', base_url: gemini.url, api_key_env: 'TEST_FEATURES_GEMINI_KEY' },
      azure: { type: 'azure', base_url: azure.url, api_key_env: 'TEST_FEATURES_AZURE_KEY', api_version: '2024-10-21' },
    };
    // Provider errors reach the client as they are (same-provider retries are tested in retries.test.ts).
    config.routing = { retries: { max: 0 } };
    config.models = {
      ...(config.models as object),
      claude: { provider: 'anthropic', upstream_model: CLAUDE, capabilities: ['tools', 'vision', 'json_schema', 'reasoning'], context_window: 200_000 },
      'claude-auto-cache': { provider: 'anthropic-cached', upstream_model: CLAUDE },
      flash: { provider: 'gemini', upstream_model: 'gemini-2.5-flash' },
      'azure-4o': { provider: 'azure', upstream_model: 'gpt-4o' },
    };
    // Per-path body limits: more room for embedding batches, less for chat, the default (4 MiB) elsewhere.
    config.envoy = { ...(config.envoy as object), max_request_body_bytes_by_path: { '/v1/embeddings': 6 * MIB, '/v1/chat/completions': 64 * 1024 } };
    config.ledger = { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20 };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await anthropic?.close();
    await gemini?.close();
    await azure?.close();
    await rm(dir, { recursive: true, force: true });
    delete process.env.TEST_FEATURES_ANTHROPIC_KEY;
    delete process.env.TEST_FEATURES_GEMINI_KEY;
    delete process.env.TEST_FEATURES_AZURE_KEY;
  });
  beforeEach(() => {
    anthropic.reset();
    gemini.reset();
    azure.reset();
    h.fake.reset();
  });

  async function recordOf(requestId: string | null): Promise<UsageRecord> {
    const record = requestId ? await h.ledgerRecord(requestId) : null;
    if (record?.state !== 'final') throw new Error(`no final ledger record for ${requestId}`);
    return record;
  }

  /** A streamed answer's content, finish reason and usage (include_usage on). */
  async function streamed(params: Omit<ChatCompletionCreateParamsNonStreaming, 'stream'>) {
    const stream = await h.client().chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let content = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let toolCalls = 0;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta?.content ?? '';
      toolCalls += chunk.choices[0]?.delta?.tool_calls?.length ?? 0;
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    return { content, finish, usage, toolCalls };
  }

  describe('structured outputs', () => {
    for (const model of ['claude', 'flash']) {
      it(`${model}: json_schema answers with content that parses against the schema, JSON and streamed`, async () => {
        const messages = [{ role: 'user' as const, content: 'Describe Ada Lovelace' }];
        const whole = await h.client().chat.completions.create({ model, messages, response_format: personFormat });
        const message = whole.choices[0]?.message;
        expect(whole.choices[0]?.finish_reason).toBe('stop');
        expect(message?.tool_calls).toBeUndefined();
        expect(validPerson(JSON.parse(message?.content ?? ''))).toBe(true);

        const stream = await streamed({ model, messages, response_format: personFormat });
        expect(stream.finish).toBe('stop');
        expect(stream.toolCalls).toBe(0);
        expect(validPerson(JSON.parse(stream.content))).toBe(true);
        expect(stream.usage?.completion_tokens).toBeGreaterThan(0);
      });
    }

    it('the providers got their native mechanism: a forced tool (Anthropic), responseSchema (Gemini)', async () => {
      await h.client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'x' }], response_format: personFormat });
      await h.client().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'x' }], response_format: personFormat });
      expect(anthropic.requests[0]?.body).toMatchObject({ tools: [{ name: 'json_response', input_schema: PERSON }], tool_choice: { type: 'tool', name: 'json_response' } });
      expect(gemini.requests[0]?.body).toMatchObject({ generationConfig: { responseMimeType: 'application/json', responseSchema: { type: 'object', required: PERSON.required } } });
    });

    it('json_object on Anthropic answers a JSON object', async () => {
      const reply = await h.client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } });
      expect(JSON.parse(reply.choices[0]?.message.content ?? '')).toEqual({ echo: 'JSON please' });
    });
  });

  describe('reasoning', () => {
    it('Gemini: reasoning_effort sets a thinking budget; reasoning tokens are reported, metered and priced as output', async () => {
      const { data, response } = await h.client().chat.completions.create({
        model: 'flash', messages: [{ role: 'user', content: 'think hard' }], reasoning_effort: 'low',
      }).withResponse();
      expect(gemini.requests[0]?.body).toMatchObject({ generationConfig: { thinkingConfig: { thinkingBudget: 1024 } } });
      expect(data.usage?.completion_tokens_details?.reasoning_tokens).toBe(3);
      const record = await recordOf(response.headers.get('x-tollgate-request-id'));
      expect(record.completionTokens).toBe(data.usage?.completion_tokens);
      expect(record.reasoningTokens).toBe(3);
      // gemini-2.5-flash: 0.30 USD input, 2.50 USD output per 1M tokens; reasoning is billed as output.
      const expected = (BigInt(data.usage?.prompt_tokens ?? 0) * 300_000_000n + BigInt(data.usage?.completion_tokens ?? 0) * 2_500_000_000n + 500_000n) / 1_000_000n;
      expect(record.costNanoUsd).toBe(expected);
    });

    it('Anthropic: reasoning_effort enables extended thinking; the thinking never reaches content, JSON or streamed', async () => {
      const reply = await h.client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'why' }], reasoning_effort: 'medium', max_completion_tokens: 4000 });
      expect(anthropic.requests[0]?.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2000 }, max_tokens: 4000 });
      expect(reply.choices[0]?.message.content).toBe('Echo: why');
      const stream = await streamed({ model: 'claude', messages: [{ role: 'user', content: 'why' }], reasoning_effort: 'low' });
      expect(stream.content).toBe('Echo: why');
      // The thinking is billed as output: more completion tokens than the visible answer's 2.
      expect(stream.usage?.completion_tokens).toBeGreaterThan(2);
    });

    it('Anthropic: a temperature with reasoning_effort is a 400 in OpenAI shape, before any provider call', async () => {
      const err = await h.client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low', temperature: 0.3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', param: 'temperature' });
      expect(anthropic.requests).toHaveLength(0);
    });
  });

  describe('vision', () => {
    const look = (url: string) => [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'what is this' }, { type: 'image_url' as const, image_url: { url } }] }];

    it('Anthropic: https and data: images become url and base64 image blocks', async () => {
      await h.client().chat.completions.create({ model: 'claude', messages: look('https://example.com/cat.png') });
      await h.client().chat.completions.create({ model: 'claude', messages: look(PNG_DATA_URL) });
      const image = (i: number) => (anthropic.requests[i]?.body as { messages: Array<{ content: unknown[] }> }).messages[0]?.content[1];
      expect(image(0)).toEqual({ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } });
      expect(image(1)).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_DATA_URL.split(',')[1] } });
    });

    it('Gemini: data: images become inlineData, https images fileData', async () => {
      await h.client().chat.completions.create({ model: 'flash', messages: look(PNG_DATA_URL) });
      await h.client().chat.completions.create({ model: 'flash', messages: look('https://example.com/cat.jpg') });
      const part = (i: number) => (gemini.requests[i]?.body as { contents: Array<{ parts: unknown[] }> }).contents[0]?.parts[1];
      expect(part(0)).toEqual({ inlineData: { mimeType: 'image/png', data: PNG_DATA_URL.split(',')[1] } });
      expect(part(1)).toEqual({ fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.jpg' } });
    });

    it('what the target cannot take is a clear 400 in OpenAI shape', async () => {
      for (const [model, url] of [['claude', 'data:image/tiff;base64,AAAA'], ['flash', 'https://example.com/cat'], ['flash', 'data:image/tiff;base64,AAAA']] as const) {
        const response = await fetch(`${h.baseUrl}/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: look(url) }),
        });
        expect(response.status).toBe(400);
        const body = (await response.json()) as { error: Record<string, unknown> };
        expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/.{20,}/) });
        expect(String(body.error.param)).toMatch(/^messages\[0\]/);
      }
      expect(anthropic.requests).toHaveLength(0);
      expect(gemini.requests).toHaveLength(0);
    });
  });

  describe('GET /v1/models', () => {
    it('lists the capabilities and context window a model declares in config; undeclared models list none', async () => {
      const list = await h.client().models.list();
      const byId = new Map(list.data.map((m) => [m.id, m as unknown as Record<string, unknown>]));
      expect(byId.get('claude')).toMatchObject({ object: 'model', capabilities: ['json_schema', 'reasoning', 'tools', 'vision'], context_window: 200_000 });
      expect(byId.get('flash')).not.toHaveProperty('capabilities');
      const one = (await h.client().models.retrieve('claude')) as unknown as Record<string, unknown>;
      expect(one).toMatchObject({ id: 'claude', capabilities: ['json_schema', 'reasoning', 'tools', 'vision'], context_window: 200_000 });
    });
  });

  describe('retry hints', () => {
    /** The client's view of a provider failure: status, Retry-After, and the OpenAI-shaped body. */
    async function failure(model: string, fault: string) {
      const response = await fetch(`${h.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', 'x-fake-fault': fault },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await response.json()) as { error?: Record<string, unknown> };
      return { status: response.status, retryAfter: response.headers.get('retry-after'), retryAfterMs: response.headers.get('retry-after-ms'), error: body.error };
    }

    for (const [model, fault, status] of [
      ['gpt-4o', 'status=429;retry-after=7', 429],
      ['gpt-4o', 'status=503;retry-after=7', 503],
      ['claude', 'status=429;retry-after=7', 429],
      ['claude', 'status=503;retry-after=7', 503],
      ['flash', 'status=429;retry-after=7', 429],
      ['flash', 'status=503;retry-after=7', 503],
      ['azure-4o', 'status=429;retry-after=7', 429],
    ] as const) {
      it(`${model} ${status}: the provider's hint reaches the client as Retry-After, the error in OpenAI shape`, async () => {
        const seen = await failure(model, fault);
        expect(seen.status).toBe(status);
        expect(seen.retryAfter).toBe('7');
        expect(seen.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
      });
    }

    it('Azure\'s retry-after-ms passes on beside Retry-After (the OpenAI SDKs read it first)', async () => {
      expect((await failure('azure-4o', 'status=429;retry-after=3')).retryAfterMs).toBe('3000');
    });
  });

  describe('big embedding batches', () => {
    it('2,048 inputs (OpenAI\'s own limit) get through in one request, answered in order', async () => {
      const input = Array.from({ length: 2048 }, (_, i) => `document number ${i} about the gateway`);
      const reply = await h.client().embeddings.create({ model: 'text-embedding-3-small', input });
      expect(reply.data).toHaveLength(2048);
      expect(reply.data.map((d) => d.index)).toEqual(input.map((_, i) => i));
      expect(reply.usage.prompt_tokens).toBe(2048 * 6);
    });

    it('2,048 token arrays of ~300k tokens in all (OpenAI\'s per-request maximum) get through', async () => {
      const input = Array.from({ length: 2048 }, (_, i) => Array.from({ length: 146 }, (_, j) => (i * 146 + j) % 100_000));
      const reply = await h.client().embeddings.create({ model: 'text-embedding-3-small', input });
      expect(reply.data).toHaveLength(2048);
      expect(reply.usage.prompt_tokens).toBe(2048 * 146);
    });

    const post = (path: string, body: string) => fetch(`${h.baseUrl}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' }, body,
    });

    it('2,049 inputs are a 400 from the gateway in OpenAI shape', async () => {
      const tooMany = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: Array.from({ length: 2049 }, () => 'x') }));
      expect(tooMany.status).toBe(400);
      expect(((await tooMany.json()) as { error: Record<string, unknown> }).error).toMatchObject({ type: 'invalid_request_error', param: expect.stringContaining('input') });
    });

    it('the body limit is set per path: 5 MiB of embeddings pass under their 6 MiB limit, more is a 413 naming it', async () => {
      const big = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: ['y'.repeat(5 * MIB)] }));
      expect(big.status).toBe(200);
      const huge = await post('/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: ['y'.repeat(7 * MIB)] }));
      expect(huge.status).toBe(413);
      expect(((await huge.json()) as { error: Record<string, unknown> }).error).toEqual({
        message: `Request body is larger than the gateway limit of ${6 * MIB} bytes for /v1/embeddings.`, type: 'invalid_request_error', code: 'request_too_large', param: null,
      });
    });

    it('a smaller per-path limit applies to chat: 100 KB is a 413 there', async () => {
      const chat = await post('/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'z'.repeat(100_000) }] }));
      expect(chat.status).toBe(413);
      expect(((await chat.json()) as { error: { message: string } }).error.message).toContain(`${64 * 1024} bytes for /v1/chat/completions`);
      expect(h.fake.requests).toHaveLength(0);
    });
  });

  describe('provider prompt caching', () => {
    const longRules = (tag: string) => `${tag}: ${'Answer in the house style, short and exact. '.repeat(150)}`;

    it('cache_control on an OpenAI content part reaches Anthropic; reads are reported as cached_tokens and priced at the cached rate', async () => {
      const messages = [
        { role: 'system', content: [{ type: 'text', text: longRules('explicit'), cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: 'hello' },
      ] as unknown as OpenAI.ChatCompletionMessageParam[];
      const first = await h.client().chat.completions.create({ model: 'claude', messages }).withResponse();
      expect((anthropic.requests[0]?.body as { system: unknown[] }).system[0]).toMatchObject({ cache_control: { type: 'ephemeral' } });
      const second = await h.client().chat.completions.create({ model: 'claude', messages }).withResponse();
      const cached = second.data.usage?.prompt_tokens_details?.cached_tokens ?? 0;
      expect(cached).toBeGreaterThanOrEqual(1024);
      expect(second.data.usage?.prompt_tokens).toBe(first.data.usage?.prompt_tokens);

      const written = await recordOf(first.response.headers.get('x-tollgate-request-id'));
      const read = await recordOf(second.response.headers.get('x-tollgate-request-id'));
      expect(written.cacheWriteTokens).toBe(cached);
      expect(read.cachedPromptTokens).toBe(cached);
      // claude-sonnet-4-5 per 1M tokens: 3.00 input, 0.30 cache read, 3.75 cache write, 15.00 output (nano-USD below).
      const price = (fresh: number, reads: number, writes: number, out: number) =>
        (BigInt(fresh) * 3_000_000_000n + BigInt(reads) * 300_000_000n + BigInt(writes) * 3_750_000_000n + BigInt(out) * 15_000_000_000n + 500_000n) / 1_000_000n;
      expect(written.costNanoUsd).toBe(price(written.promptTokens - cached, 0, cached, written.completionTokens));
      expect(read.costNanoUsd).toBe(price(read.promptTokens - cached, cached, 0, read.completionTokens));
      expect(read.costNanoUsd ?? 0n).toBeLessThan(written.costNanoUsd ?? 0n);
    });

    // OpenAI's automatic caching (gpt-4o: 2.50 input, 1.25 cached, 10.00 output) and Gemini's implicit caching
    // (gemini-2.5-flash: 0.30 input, 0.03 cached, 2.50 output), USD per 1M tokens; nano-USD below.
    for (const [model, input, cachedInput, output] of [
      ['gpt-4o', 2_500_000_000n, 1_250_000_000n, 10_000_000_000n],
      ['flash', 300_000_000n, 30_000_000n, 2_500_000_000n],
    ] as const) {
      it(`${model}: a repeated long prefix comes back as cached_tokens and is priced at the cached rate`, async () => {
        const messages = [{ role: 'system' as const, content: longRules(`implicit ${model}`) }, { role: 'user' as const, content: 'hello' }];
        await h.client().chat.completions.create({ model, messages });
        const { data, response } = await h.client().chat.completions.create({ model, messages }).withResponse();
        const cached = data.usage?.prompt_tokens_details?.cached_tokens ?? 0;
        expect(cached).toBeGreaterThanOrEqual(1024);
        const record = await recordOf(response.headers.get('x-tollgate-request-id'));
        expect(record.cachedPromptTokens).toBe(cached);
        const fresh = BigInt(record.promptTokens - cached);
        expect(record.costNanoUsd).toBe((fresh * input + BigInt(cached) * cachedInput + BigInt(record.completionTokens) * output + 500_000n) / 1_000_000n);
      });
    }

    it('cache_prefix_min_tokens caches a long shared system prompt without any change to the request', async () => {
      const messages = [{ role: 'system' as const, content: longRules('configured') }, { role: 'user' as const, content: 'hi' }];
      await h.client().chat.completions.create({ model: 'claude-auto-cache', messages });
      const second = await h.client().chat.completions.create({ model: 'claude-auto-cache', messages });
      expect((anthropic.requests[0]?.body as { system: unknown[] }).system).toEqual([{ type: 'text', text: longRules('configured'), cache_control: { type: 'ephemeral' } }]);
      expect(second.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThanOrEqual(1024);
      // The same prompt on the model without the setting is sent unmarked.
      await h.client().chat.completions.create({ model: 'claude', messages });
      expect((anthropic.requests[2]?.body as { system: unknown }).system).toBe(longRules('configured'));
    });
  });
});
