import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { FAKE_AZURE_KEY, startFakeAzure, type FakeAzure } from '../fakes/azure-provider.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-provider.ts';
import { startFakeVllm, type FakeVllm } from '../fakes/vllm-provider.ts';
import { freePort } from '../helpers/free-port.ts';
import { ADMIN_TOKEN, PLACEHOLDER_URL, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { buildPolicyBundle } from '../helpers/policy-bundle.ts';

const ANTHROPIC_KEY = 'sk-ant-fake-key';
const GEMINI_KEY = 'gemini-fake-key';
const VLLM_KEY = 'vllm-fake-key';
const CLAUDE = 'claude-sonnet-4-5';

/** Anthropic natively (passthrough); OpenAI, Azure OpenAI, Gemini and vLLM through the chat translation. */
const MODELS = ['claude', 'gpt-4o-mini', 'azure-4o', 'gemini-pro', 'llama'] as const;

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { echo: { type: 'string' } }, required: ['echo'] },
};

/**
 * POST /v1/messages and /v1/messages/count_tokens through real Envoy with the official `@anthropic-ai/sdk`,
 * answered by the strict fakes: Anthropic (the client's body passed through), OpenAI, Azure OpenAI, Gemini and vLLM
 * (translated both ways), and a fallback chain from a failing Anthropic to OpenAI that still answers in Anthropic's dialect. The same
 * auth, policy, quotas and ledger as chat; every error in Anthropic's shape.
 */
describe('Anthropic Messages API through Envoy with the Claude SDK', () => {
  let h: Harness;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let azure: FakeAzure;
  let vllm: FakeVllm;
  let dir: string;
  const keys: Record<string, string> = {};
  let n = 0;
  const unique = (text: string) => `${text} ${++n}`;
  const client = (key = h.key) => new Anthropic({ apiKey: key, baseURL: h.baseUrl.replace(/\/v1$/, ''), maxRetries: 0, timeout: 10_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-messages-e2e-'));
    const bundle = await buildPolicyBundle({
      data: { tenants: { defaults: {}, orgs: { acme: { teams: { research: { models: ['gpt-4o-mini'] }, platform: { redact: ['email'] } } } } } },
    }, join(dir, 'policy', 'bundle.tar.gz'));
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    gemini = await startFakeGemini({ apiKey: GEMINI_KEY });
    azure = await startFakeAzure({});
    vllm = await startFakeVllm({ apiKey: VLLM_KEY });
    process.env.TEST_ANTHROPIC_KEY = ANTHROPIC_KEY;
    process.env.TEST_GEMINI_KEY = GEMINI_KEY;
    process.env.TEST_AZURE_KEY = FAKE_AZURE_KEY;
    process.env.TEST_VLLM_KEY = VLLM_KEY;
    const config = testConfig();
    config.providers = {
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY' },
      gemini: { type: 'gemini', base_url: gemini.url, api_key_env: 'TEST_GEMINI_KEY' },
      azure: { type: 'azure', base_url: azure.url, api_key_env: 'TEST_AZURE_KEY', api_version: '2024-10-21' },
      vllm: { type: 'openai', base_url: vllm.url, api_key_env: 'TEST_VLLM_KEY' },
      // Nothing listens there: Envoy answers itself.
      down: { type: 'openai', base_url: `http://127.0.0.1:${await freePort()}/v1` },
      'anthropic-down': { type: 'anthropic', base_url: `http://127.0.0.1:${await freePort()}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY' },
    };
    config.models = {
      'gpt-4o-mini': { provider: 'openai', kind: 'chat' },
      claude: { provider: 'anthropic', upstream_model: CLAUDE },
      'gemini-pro': { provider: 'gemini', upstream_model: 'gemini-2.5-pro' },
      'azure-4o': { provider: 'azure', upstream_model: 'gpt-4o' },
      llama: { provider: 'vllm', upstream_model: 'meta-llama/Llama-3.1-8B-Instruct' },
      down: { provider: 'down', upstream_model: 'gpt-4o' },
      'claude-down': { provider: 'anthropic-down', upstream_model: CLAUDE },
      'claude-then-gpt': { targets: [{ provider: 'anthropic', model: CLAUDE }, { provider: 'openai', model: 'gpt-4o' }] },
    };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {} } }, research: { apps: { app: {} } }, small: { apps: { app: {} } } } } };
    config.quotas = { limits: { team: { 'acme/small': { tpm: 40 } } } };
    config.ledger = { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20 };
    config.policy = { bundle, audit_log: join(dir, 'audit.jsonl') };
    config.routing = { retries: { max: 0 } };
    config.envoy = { max_request_body_bytes: 200_000 };
    config.cache = { defaults: { ttl_seconds: 60 } };
    h = await startHarness({ config });
    keys.research = await h.createKey('research', 'app');
    keys.small = await h.createKey('small', 'app');
  }, 90_000);
  afterAll(async () => {
    await h?.stop();
    await Promise.all([anthropic?.close(), gemini?.close(), azure?.close(), vllm?.close()]);
    await rm(dir, { recursive: true, force: true });
    delete process.env.TEST_ANTHROPIC_KEY;
    delete process.env.TEST_GEMINI_KEY;
    delete process.env.TEST_AZURE_KEY;
    delete process.env.TEST_VLLM_KEY;
  });
  beforeEach(() => {
    for (const fake of [h.fake, anthropic, gemini, azure, vllm]) fake.reset();
  });


  it('passes the client\'s body through to Anthropic as is, apart from the model', async () => {
    const input = unique('Hello there');
    const sent = {
      model: 'claude', max_tokens: 100, system: [{ type: 'text' as const, text: 'Be brief.' }], top_k: 5,
      messages: [{ role: 'user' as const, content: input }], stop_sequences: ['never-said'],
    };
    const { data, response } = await client().messages.create(sent).withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text', text: `Echo: ${input}` }] });
    expect(data.id).toMatch(/^msg_/);
    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]?.path).toBe('/v1/messages');
    expect(anthropic.requests[0]?.body).toEqual({ ...sent, model: CLAUDE });
    expect(anthropic.requests[0]?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');

    const record = await h.ledgerRecord(response.headers.get('x-tollgate-request-id') as string);
    expect(record).toMatchObject({
      state: 'final', endpoint: 'messages', model: 'claude', provider: 'anthropic', status: 200, outcome: 'completed',
      promptTokens: data.usage.input_tokens, completionTokens: data.usage.output_tokens,
    });
    expect(data.usage.output_tokens).toBeGreaterThan(0);
  });

  describe('the SDK\'s newer top-level fields', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const outputConfig = { effort: 'high' as const, format: { type: 'json_schema' as const, schema } };

    it('reach Anthropic intact through the passthrough (GA and beta), and the structured answer comes back', async () => {
      const sent = {
        model: 'claude', max_tokens: 100, messages: [{ role: 'user' as const, content: unique('structured') }], output_config: outputConfig,
        cache_control: { type: 'ephemeral' as const }, service_tier: 'standard_only' as const, inference_geo: 'us', speed: 'fast' as const,
        container: 'container_1', diagnostics: { previous_message_id: 'msg_1' },
        // More than the chat form's 4 (OpenAI's limit): fine for Anthropic.
        stop_sequences: ['s1', 's2', 's3', 's4', 's5'],
      };
      const data = await client().messages.create(sent);
      expect(anthropic.requests[0]?.body).toEqual({ ...sent, model: CLAUDE });
      const text = data.content.find((block) => block.type === 'text');
      expect(JSON.parse(text?.type === 'text' ? text.text : '')).toEqual({ answer: expect.any(String) });

      // Claude Code's client: the beta API (?beta=true), with context management and MCP servers.
      const beta = {
        model: 'claude', max_tokens: 100, messages: [{ role: 'user' as const, content: unique('beta fields') }],
        context_management: { edits: [{ type: 'clear_tool_uses_20250919' as const }] },
        mcp_servers: [{ type: 'url' as const, url: 'https://mcp.example.com/sse', name: 'example' }],
      };
      const answer = await client().beta.messages.create(beta);
      expect(answer.content).toEqual([{ type: 'text', text: `Echo: beta fields ${n}` }]);
      expect(anthropic.requests[1]?.body).toEqual({ ...beta, model: CLAUDE });
    });

    it('max_tokens 0 warms Anthropic\'s prompt cache (no answer); elsewhere it is a 400', async () => {
      const system = [{ type: 'text' as const, text: `${unique('warm')} ${'context '.repeat(1100)}`, cache_control: { type: 'ephemeral' as const } }];
      const warmed = await client().messages.create({ model: 'claude', max_tokens: 0, system, messages: [{ role: 'user', content: 'warm up' }] });
      expect(warmed).toMatchObject({ content: [], stop_reason: 'max_tokens', usage: { output_tokens: 0, cache_creation_input_tokens: 1102 } });
      expect(anthropic.requests[0]?.body).toMatchObject({ max_tokens: 0 });
      const used = await client().messages.create({ model: 'claude', max_tokens: 32, system, messages: [{ role: 'user', content: 'now answer' }] });
      expect(used.usage).toMatchObject({ cache_read_input_tokens: 1102, cache_creation_input_tokens: 0 });
      const refused = await client().messages.create({ model: 'gpt-4o-mini', max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect(h.fake.requests).toHaveLength(0);
    });

    it('go back on natively when a stage changed the request and Anthropic gets the translation', async () => {
      const input = unique('Mail jane.doe@acme-corp.com');
      await client().messages.create({
        model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: input }], output_config: outputConfig, service_tier: 'auto', speed: 'fast',
      });
      const seen = anthropic.requests[0]?.body as Record<string, unknown>;
      expect(JSON.stringify(seen)).not.toContain('jane.doe');
      expect(seen).toMatchObject({ output_config: outputConfig, service_tier: 'auto', speed: 'fast' });
      // The native format, not the chat form's forced tool.
      expect(seen).not.toHaveProperty('tools');
      expect(seen).not.toHaveProperty('x_tollgate_messages');
    });

    it('OpenAI gets the structured-output format as response_format and nothing it would refuse; Anthropic-only ones are a 400', async () => {
      const input = unique('structured please');
      const data = await client().messages.create({
        model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user', content: input }], output_config: outputConfig,
        service_tier: 'auto', speed: 'fast', cache_control: { type: 'ephemeral' }, inference_geo: 'us', metadata: { user_id: 'end-user-7' },
      });
      // The fake OpenAI answers a JSON format with JSON (its own shape), which comes back as the text block.
      const text = data.content[0];
      expect(JSON.parse(text?.type === 'text' ? text.text : '')).toEqual({ echo: input });
      const body = h.fake.requests[0]?.body as Record<string, unknown>;
      expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
      expect(body.user).toBe('end-user-7');
      for (const field of ['x_tollgate_messages', 'output_config', 'speed', 'cache_control', 'inference_geo']) expect(body).not.toHaveProperty(field);

      for (const extra of [{ container: 'container_1' }, { mcp_servers: [{ type: 'url' as const, url: 'https://mcp.example.com/sse', name: 'x' }] }]) {
        const error = await client().beta.messages.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra })
          .then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(Anthropic.BadRequestError);
        const field = Object.keys(extra)[0];
        expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
          type: 'error', error: { type: 'invalid_request_error', message: `${field}: only Anthropic models support this field; this model is served by a openai provider` },
        });
      }
      expect(h.fake.requests).toHaveLength(1);
      // Still unknown to the SDK, still refused.
      const unknown = await fetch(`${h.baseUrl}/messages`, {
        method: 'POST', headers: { 'x-api-key': h.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], frequency_penalty: 1 }),
      });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'frequency_penalty: Extra inputs are not permitted' } });
    });

    it('the exact cache splits on fields that change the answer (top_k, output_config), not on speed or service_tier', async () => {
      const body = { model: 'gpt-4o-mini', max_tokens: 64, temperature: 0, messages: [{ role: 'user' as const, content: unique('cache keyed') }] };
      const status = async (extra: Record<string, unknown>) => (await client().messages.create({ ...body, ...extra } as typeof body).withResponse()).response.headers.get('x-tollgate-cache');
      expect(await status({ top_k: 3 })).toBe('miss');
      expect(await status({ top_k: 4 })).toBe('miss');
      expect(await status({ top_k: 3, speed: 'fast', service_tier: 'auto' })).toBe('hit');
      expect(await status({ top_k: 3, output_config: { format: { type: 'json_schema', schema } } })).toBe('miss');
      expect(h.fake.requests).toHaveLength(3);
    });
  });

  it('an Anthropic provider\'s prompt-cache writes and reads reach the client in the usage, plain and streamed', async () => {
    // A marked prefix of at least 1,024 tokens: the fake writes it on first sight and reads it after, as Anthropic does.
    const system = [{ type: 'text' as const, text: `${unique('cached')} ${'context '.repeat(1100)}`, cache_control: { type: 'ephemeral' as const } }];
    const body = (text: string) => ({ model: 'claude', max_tokens: 32, system, messages: [{ role: 'user' as const, content: unique(text) }] });
    const written = await client().messages.stream(body('first')).finalMessage();
    expect(written.usage).toMatchObject({ input_tokens: 5, cache_creation_input_tokens: 1102, cache_read_input_tokens: 0 });
    const read = await client().messages.stream(body('second')).finalMessage();
    expect(read.usage).toMatchObject({ input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 1102 });
    const plain = await client().messages.create(body('third'));
    expect(plain.usage).toMatchObject({ input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 1102 });
  });

  it('an Anthropic provider\'s stop on a stop sequence reaches the client as stop_sequence, plain and streamed', async () => {
    const body = { model: 'claude', max_tokens: 64, stop_sequences: ['STOP'], messages: [{ role: 'user' as const, content: unique('alpha STOP beta') }] };
    const whole = await client().messages.create(body);
    expect(whole).toMatchObject({ content: [{ type: 'text', text: 'Echo: alpha ' }], stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
    const streamed = await client().messages.stream(body).finalMessage();
    expect(streamed).toMatchObject({ content: [{ type: 'text', text: 'Echo: alpha ' }], stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
  });

  it('extended thinking on Anthropic: thinking blocks (text and signature) come back, plain and streamed, and go back in a tool loop', async () => {
    const thinking = { type: 'enabled' as const, budget_tokens: 1024 };
    const city = unique('Oslo');
    const first = await client().messages.create({
      model: 'claude', max_tokens: 2048, thinking, tools: [weatherTool], messages: [{ role: 'user', content: city }],
    });
    expect(first.content.map((block) => block.type)).toEqual(['thinking', 'tool_use']);
    expect(first.content[0]).toMatchObject({ type: 'thinking', thinking: `Let me think about: ${city}`, signature: expect.any(String) });
    const call = first.content[1];
    if (call?.type !== 'tool_use') throw new Error('no tool_use block');
    // The assistant turn goes back whole (thinking block included), as Anthropic requires in a tool loop.
    const second = await client().messages.create({
      model: 'claude', max_tokens: 2048, thinking, tools: [weatherTool],
      messages: [
        { role: 'user', content: city },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
      ],
    });
    expect(second.content.at(-1)).toEqual({ type: 'text', text: 'Tool result: sunny' });
    expect(anthropic.requests[1]?.body).toMatchObject({ messages: [{}, { role: 'assistant', content: first.content }, {}] });

    const stream = client().messages.stream({ model: 'claude', max_tokens: 2048, thinking, messages: [{ role: 'user', content: unique('ponder') }] });
    let thought = '';
    let signature = '';
    stream.on('thinking', (delta) => { thought += delta; });
    stream.on('signature', (value) => { signature = value; });
    const final = await stream.finalMessage();
    expect(thought).toBe(`Let me think about: ponder ${n}`);
    expect(final.content).toEqual([
      { type: 'thinking', thinking: thought, signature },
      { type: 'text', text: `Echo: ponder ${n}` },
    ]);
    expect(signature).not.toBe('');
  });

  for (const model of MODELS) {
    it(`${model}: plain and streamed, with Anthropic's exact event framing and usage`, async () => {
      const input = unique('the quick brown fox');
      const whole = await client().messages.create({ model, max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: input }] });
      expect(whole.content).toEqual([{ type: 'text', text: `Echo: ${input}` }]);
      expect(whole.stop_reason).toBe('end_turn');
      expect(whole.usage.input_tokens).toBeGreaterThan(0);
      expect(whole.usage.output_tokens).toBeGreaterThan(0);

      const streamed = unique('jumps over the lazy dog');
      const stream = await client().messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: streamed }], stream: true });
      const types: string[] = [];
      let text = '';
      let stop: string | null = null;
      let outputTokens = 0;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        if (event.type === 'message_delta') {
          stop = event.delta.stop_reason;
          outputTokens = event.usage.output_tokens;
        }
      }
      expect(text).toBe(`Echo: ${streamed}`);
      expect(stop).toBe('end_turn');
      expect(outputTokens).toBeGreaterThan(0);
      expect(types[0]).toBe('message_start');
      expect(types).toContain('content_block_start');
      expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(1);
      expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);

      // The SDK's own accumulator checks the events against its snapshot (block indexes, deltas).
      const helper = client().messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: unique('helper') }] });
      const final = await helper.finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: `Echo: helper ${n}` }]);
      expect(final.usage.output_tokens).toBeGreaterThan(0);
      expect(final.usage.input_tokens).toBeGreaterThan(0);
    });

    it(`${model}: tool use round trip (tool_use, then tool_result), plain and streamed`, async () => {
      const city = unique('Paris');
      const first = await client().messages.create({
        model, max_tokens: 64, tools: [weatherTool], tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: city }],
      });
      expect(first.stop_reason).toBe('tool_use');
      const call = first.content.find((block) => block.type === 'tool_use');
      if (call?.type !== 'tool_use') throw new Error('no tool_use block');
      expect(call).toMatchObject({ name: 'get_weather', input: { echo: city } });

      const second = await client().messages.create({
        model, max_tokens: 64, tools: [weatherTool],
        messages: [
          { role: 'user', content: city },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '{"temp":21}' }] },
        ],
      });
      expect(second.content.find((block) => block.type === 'text')).toMatchObject({ text: expect.stringContaining('{"temp":21}') });

      const stream = client().messages.stream({
        model, max_tokens: 64, tools: [weatherTool], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: unique('Lyon') }],
      });
      let partial = '';
      stream.on('inputJson', (delta) => { partial += delta; });
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe('tool_use');
      const streamedCall = final.content.find((block) => block.type === 'tool_use');
      expect(streamedCall).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { echo: `Lyon ${n}` } });
      expect(JSON.parse(partial)).toEqual({ echo: `Lyon ${n}` });
    });
  }

  it('policy redaction applies before an Anthropic provider: a changed request is translated, never passed through raw', async () => {
    const input = unique('Write to jane.doe@acme-corp.com about');
    const message = await client().messages.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: input }] });
    const redacted = input.replace('jane.doe@acme-corp.com', '[REDACTED_EMAIL]');
    expect(message.content).toEqual([{ type: 'text', text: `Echo: ${redacted}` }]);
    const seen = JSON.stringify(anthropic.requests[0]?.body);
    expect(seen).toContain(redacted);
    expect(seen).not.toContain('jane.doe');
  });

  it('the cache answers a repeated request in Anthropic\'s dialect, plain and streamed, without a provider call', async () => {
    // The default cache rule serves deterministic requests only (temperature 0).
    const body = { model: 'gpt-4o-mini', max_tokens: 64, temperature: 0, messages: [{ role: 'user' as const, content: unique('cache me') }] };
    const first = await client().messages.create(body).withResponse();
    const second = await client().messages.create(body).withResponse();
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    expect(second.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(second.data).toMatchObject({ type: 'message', content: first.data.content, stop_reason: 'end_turn' });
    expect(second.data.id).toMatch(/^msg_/);
    expect(h.fake.requests).toHaveLength(1);

    const streamed = { ...body, messages: [{ role: 'user' as const, content: unique('cache my stream') }] };
    const once = await client().messages.stream(streamed).finalMessage();
    const again = await client().messages.stream(streamed).finalMessage();
    expect(again.content).toEqual(once.content);
    expect(h.fake.requests).toHaveLength(2);
  });

  it('takes the virtual key as a bearer token too, and Claude Code\'s ?beta=true path', async () => {
    const bearer = new Anthropic({ apiKey: null, authToken: h.key, baseURL: h.baseUrl.replace(/\/v1$/, ''), maxRetries: 0 });
    const input = unique('bearer');
    expect((await bearer.messages.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: input }] })).content)
      .toEqual([{ type: 'text', text: `Echo: ${input}` }]);
    const response = await fetch(`${h.baseUrl}/messages?beta=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'beta' }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'Echo: beta' }] });
    // The client's key never reaches the provider: the provider's own key does.
    expect(anthropic.requests[0]?.headers.authorization).toBeUndefined();
    expect(anthropic.requests[0]?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
  });

  it('count_tokens on an Anthropic model is Anthropic\'s own count: the client\'s body passed through, the same number a message reports', async () => {
    // Two long words: the fake counts words (2 + 3 for the turn), a BPE tokenizer many more, so 5 proves passthrough.
    const words = 'supercalifragilisticexpialidocious antidisestablishmentarianism';
    const sent = { model: 'claude', messages: [{ role: 'user' as const, content: words }] };
    const { data, response } = await client().messages.countTokens(sent).withResponse();
    expect(data).toEqual({ input_tokens: 5 });
    expect(response.headers.get('x-tollgate-count')).toBeNull();
    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]).toMatchObject({ path: '/v1/messages/count_tokens', body: { ...sent, model: CLAUDE } });
    expect(anthropic.requests[0]?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(anthropic.requests[0]?.headers['anthropic-version']).toBe('2023-06-01');
    expect(anthropic.requests[0]?.headers.authorization).toBeUndefined();
    const message = await client().messages.create({ ...sent, max_tokens: 16 });
    expect(message.usage.input_tokens).toBe(data.input_tokens);

    // Tools, system and thinking go too (count_tokens takes them); the fake checks every field strictly.
    const rich = await client().messages.countTokens({
      model: 'claude', system: 'You are a careful assistant.', tools: [weatherTool], thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'Hello, please tell me the weather in Paris.' }],
    });
    expect(rich.input_tokens).toBe(5 + 8 + 3);
    expect(anthropic.requests[2]?.body).toMatchObject({ model: CLAUDE, tools: [weatherTool], thinking: { type: 'enabled', budget_tokens: 2048 } });

    // A chain counts at its first provider (Anthropic here), with no fallback to another provider's tokenizer.
    expect(await client().messages.countTokens({ ...sent, model: 'claude-then-gpt' })).toEqual({ input_tokens: 5 });
    expect(anthropic.requests[3]).toMatchObject({ path: '/v1/messages/count_tokens', body: { ...sent, model: CLAUDE } });

    const unknown = await client().messages.countTokens({ model: 'nope', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(anthropic.requests).toHaveLength(4);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('count_tokens on a Gemini model is Gemini\'s own count (its countTokens, translated both ways)', async () => {
    const words = 'supercalifragilisticexpialidocious antidisestablishmentarianism';
    const { data, response } = await client().messages.countTokens({
      model: 'gemini-pro', system: 'You are a careful assistant.', tools: [weatherTool], messages: [{ role: 'user', content: words }],
    }).withResponse();
    // The fake Gemini counts words: 5 of the system instruction, 2 of the message.
    expect(data).toEqual({ input_tokens: 7 });
    expect(response.headers.get('x-tollgate-count')).toBeNull();
    expect(gemini.requests).toHaveLength(1);
    expect(gemini.requests[0]).toMatchObject({ path: '/v1beta/models/gemini-2.5-pro:countTokens', body: { generateContentRequest: { model: 'models/gemini-2.5-pro' } } });
    expect(gemini.requests[0]?.headers['x-goog-api-key']).toBe(GEMINI_KEY);

    // Google's retry hint is in the body (RetryInfo): the client still gets retry-after.
    gemini.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 4 });
    const limited = await client().messages.countTokens({ model: 'gemini-pro', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBe('4');
  });

  it('count_tokens on an OpenAI-compatible model is the gateway\'s estimate, with no provider call', async () => {
    const words = 'supercalifragilisticexpialidocious antidisestablishmentarianism';
    const counts: number[] = [];
    for (const model of ['gpt-4o-mini', 'azure-4o', 'llama']) {
      const { data, response } = await client().messages.countTokens({ model, messages: [{ role: 'user', content: words }] }).withResponse();
      expect(response.headers.get('x-tollgate-count')).toBe('estimate');
      counts.push(data.input_tokens);
    }
    // The tokenizer's count (the same for these OpenAI-family vendors), not a provider's word count.
    expect(counts[0]).toBeGreaterThan(5);
    expect(new Set(counts).size).toBe(1);
    const longer = await client().messages.countTokens({
      model: 'gpt-4o-mini', system: 'You are a careful assistant.', tools: [weatherTool],
      messages: [{ role: 'user', content: 'Hello, please tell me the weather in Paris and in Lyon tomorrow morning.' }],
    });
    expect(longer.input_tokens).toBeGreaterThan(counts[0] as number);
    for (const fake of [h.fake, azure, vllm, gemini, anthropic]) expect(fake.requests).toHaveLength(0);
  });

  it('count_tokens runs auth, validation and policy like a message (deny, redaction) but costs no quota', async () => {
    const denied = await client(keys.research).messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((denied as InstanceType<typeof Anthropic.PermissionDeniedError>).error).toEqual({
      type: 'error', error: { type: 'permission_error', message: expect.stringContaining('denied by policy') },
    });
    // Audited like a message's decision, under its own endpoint.
    const deniedId = (denied as InstanceType<typeof Anthropic.APIError>).headers?.get('x-tollgate-request-id') as string;
    const audit = await (await fetch(`${h.adminUrl}/admin/v1/decisions?request_id=${deniedId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as { data: unknown[] };
    expect(audit.data).toEqual([expect.objectContaining({ request_id: deniedId, endpoint: 'count-tokens', decision: 'deny', model: 'claude' })]);
    const badKey = await client('tg-not-a-key').messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(badKey).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(anthropic.requests).toHaveLength(0);

    // The email never leaves: the provider counts the redacted prompt (translated, since a stage changed it).
    const counted = await client().messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'Write to jane.doe@acme-corp.com today' }] });
    expect(counted.input_tokens).toBe(4 + 3);
    const seen = JSON.stringify(anthropic.requests[0]?.body);
    expect(seen).toContain('[REDACTED_EMAIL]');
    expect(seen).not.toContain('jane.doe');
    expect(anthropic.requests[0]?.path).toBe('/v1/messages/count_tokens');

    // Team small has 40 tokens a minute: a message this long would be refused, its count is not (and takes none).
    const long = { model: 'claude', messages: [{ role: 'user' as const, content: 'word '.repeat(60) }] };
    for (let i = 0; i < 3; i++) expect((await client(keys.small).messages.countTokens(long)).input_tokens).toBe(63);
    const small = await client(keys.small).messages.create({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] });
    expect(small.type).toBe('message');

    const raw = await fetch(`${h.baseUrl}/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': h.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect({ status: raw.status, json: await raw.json() }).toEqual({
      status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Extra inputs are not permitted' } },
    });
  });

  it('an Anthropic provider\'s count_tokens errors reach the client in Anthropic\'s shape, with the status and retry-after', async () => {
    const body = { model: 'claude', messages: [{ role: 'user' as const, content: 'Hi' }] };
    anthropic.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 7 });
    const limited = await client().messages.countTokens(body).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBe('7');

    anthropic.pushFault({ kind: 'status', status: 529, retryAfterSeconds: 3 });
    const overloaded = await client().messages.countTokens(body).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(Anthropic.APIError);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('3');
    expect(anthropic.requests).toHaveLength(2);

    // An Anthropic provider nobody answers for: Envoy's own reply, in Anthropic's shape too.
    const down = await client().messages.countTokens({ ...body, model: 'claude-down' }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(Anthropic.InternalServerError);
    expect((down as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: expect.stringContaining('No provider could be reached') } });
  });

  it('gateway errors come in Anthropic\'s shape: bad key, policy deny, quota 429 with retry-after, bad input', async () => {
    const badKey = await client('tg-not-a-key').messages.create({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(badKey).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((badKey as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    const denied = await client(keys.research).messages.create({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((denied as InstanceType<typeof Anthropic.PermissionDeniedError>).error).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('denied by policy') } });
    expect(anthropic.requests).toHaveLength(0);

    const overQuota = await client(keys.small).messages.create({ model: 'claude', max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(overQuota).toBeInstanceOf(Anthropic.RateLimitError);
    const limited = overQuota as InstanceType<typeof Anthropic.RateLimitError>;
    expect(limited.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThan(0);

    const raw = async (body: unknown, headers: Record<string, string> = { 'anthropic-version': '2023-06-01' }) => {
      const response = await fetch(`${h.baseUrl}/messages`, {
        method: 'POST', headers: { 'x-api-key': h.key, 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as unknown };
    };
    expect(await raw({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] })).toEqual({
      status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } },
    });
    expect(await raw({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }], frequency_penalty: 1 })).toEqual({
      status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'frequency_penalty: Extra inputs are not permitted' } },
    });
    expect(await raw('{"model":')).toMatchObject({ status: 400, json: { type: 'error', error: { type: 'invalid_request_error' } } });
    expect(await raw({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }, {})).toEqual({
      status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } },
    });
    expect(anthropic.requests).toHaveLength(0);
  });

  it('Envoy\'s own replies come in Anthropic\'s shape too: body too large, provider unreachable', async () => {
    const big = await client().messages.create({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'x'.repeat(300_000) }] }).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(Anthropic.APIError);
    expect((big as InstanceType<typeof Anthropic.APIError>).status).toBe(413);
    expect((big as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: 'error', error: { type: 'request_too_large', message: 'Request body is larger than the gateway limit of 200000 bytes.' } });

    const down = await client().messages.create({ model: 'down', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(Anthropic.InternalServerError);
    expect((down as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: expect.stringContaining('No provider could be reached') } });
    expect(anthropic.requests).toHaveLength(0);
  });

  it('a non-Anthropic provider\'s error reaches the client in Anthropic\'s shape, plain and mid-stream', async () => {
    h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 2 });
    const limited = await client().messages.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: unique('Hi') }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });

    // A provider that gives its hint only in milliseconds: the client still gets Retry-After, in seconds rounded up.
    for (const [status, ms, seconds] of [[429, 2500, '3'], [503, 200, '1']] as const) {
      h.fake.pushFault({ kind: 'status', status, retryAfterMs: ms });
      const hinted = await client().messages.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: unique('Hi') }] }).catch((e: unknown) => e);
      expect(hinted).toBeInstanceOf(Anthropic.APIError);
      expect((hinted as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
      expect((hinted as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after'), String(status)).toBe(seconds);
    }
    // Both hints: the provider's own Retry-After stays.
    h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 7, retryAfterMs: 1000 });
    const both = await client().messages.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: unique('Hi') }] }).catch((e: unknown) => e);
    expect((both as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('7');

    h.fake.pushFault({ kind: 'status', status: 400, message: 'Invalid value for temperature.' });
    const bad = await client().messages.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: unique('Hi') }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect((bad as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'Invalid value for temperature.' } });

    // The provider cuts its stream after a few events: an Anthropic error event, never a clean message_stop.
    h.fake.pushFault({ kind: 'cut-stream', afterChunks: 3 });
    const stream = await client().messages.create({ model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user', content: unique('a longer answer please') }], stream: true });
    const types: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().then(() => null, (e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(types).not.toContain('message_stop');
  });

  it('falls back from a failing Anthropic provider to OpenAI and still answers in Anthropic\'s dialect', async () => {
    anthropic.pushFault({ kind: 'status', status: 529 });
    const input = unique('fall back please');
    const { data, response } = await client().messages.create({ model: 'claude-then-gpt', max_tokens: 64, messages: [{ role: 'user', content: input }] }).withResponse();
    expect(data).toMatchObject({ type: 'message', content: [{ type: 'text', text: `Echo: ${input}` }], stop_reason: 'end_turn' });
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    expect(anthropic.requests).toHaveLength(1);
    expect(h.fake.requests).toHaveLength(1);

    anthropic.pushFault({ kind: 'status', status: 529 });
    const streamed = unique('stream after falling back');
    const { data: stream, response: streamResponse } = await client().messages
      .create({ model: 'claude-then-gpt', max_tokens: 64, messages: [{ role: 'user', content: streamed }], stream: true }).withResponse();
    let text = '';
    let usage: { input_tokens: number | null; output_tokens: number } | null = null;
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') usage = event.usage;
    }
    expect(text).toBe(`Echo: ${streamed}`);
    expect(usage?.output_tokens).toBeGreaterThan(0);
    // The ledger meters the streamed /v1/messages request like chat: the answering provider and its usage.
    const record = await h.ledgerRecord(streamResponse.headers.get('x-tollgate-request-id') as string);
    expect(record).toMatchObject({
      state: 'final', endpoint: 'messages', model: 'claude-then-gpt', provider: 'openai', status: 200, outcome: 'completed',
      promptTokens: usage?.input_tokens, completionTokens: usage?.output_tokens,
    });
  });
});
