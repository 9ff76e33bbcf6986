import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

const ANTHROPIC_KEY = 'sk-ant-fake-key';
const CLAUDE = 'claude-sonnet-4-5';

/**
 * The official OpenAI SDK against Envoy, answered by the strict Anthropic fake: Tollgate speaks the Messages API on
 * the way out and OpenAI on the way back, for single-provider routes and inside fallback chains (where Envoy picks
 * the provider per attempt and Tollgate learns which one answered from Envoy).
 */
describe('Anthropic through Envoy with the OpenAI SDK', () => {
  let h: Harness;
  let anthropic: FakeAnthropic;

  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    process.env.TEST_ANTHROPIC_KEY = ANTHROPIC_KEY;
    const config = testConfig();
    // Fallback without same-provider retries (those are tested in retries.test.ts).
    config.routing = { retries: { max: 0 } };
    config.providers = {
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY', default_max_tokens: 512 },
    };
    config.models = {
      claude: { provider: 'anthropic', upstream_model: CLAUDE },
      smart: { targets: [{ provider: 'anthropic', model: CLAUDE }, { provider: 'openai', model: 'gpt-4o' }] },
      'smart-openai-first': { targets: [{ provider: 'openai', model: 'gpt-4o' }, { provider: 'anthropic', model: CLAUDE }] },
    };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await anthropic?.close();
    delete process.env.TEST_ANTHROPIC_KEY;
  });
  beforeEach(() => {
    h.fake.reset();
    anthropic.reset();
  });

  it('answers a chat completion in OpenAI format; the provider got a valid Messages request', async () => {
    const { data, response } = await h.client().chat.completions.create({
      model: 'claude',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello Claude' }],
    }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: Hello Claude' });
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    expect(response.headers.get('x-tollgate-model')).toBe(CLAUDE);
    const sent = anthropic.requests[0];
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.body).toMatchObject({ model: CLAUDE, system: 'Be brief.', max_tokens: 512 });
  });

  it('streams: the text reassembles exactly and usage matches the provider’s count', async () => {
    const text = 'the quick brown fox jumps over the lazy dog';
    const whole = await h.client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: text }] });
    const stream = await h.client().chat.completions.create({
      model: 'claude', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: text }],
    });
    let streamed = '';
    let chunks = 0;
    let usage: { prompt_tokens: number; completion_tokens: number } | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      streamed += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(streamed).toBe(whole.choices[0]?.message.content);
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: whole.usage?.prompt_tokens, completion_tokens: whole.usage?.completion_tokens });
    expect(anthropic.requests[1]?.body).toMatchObject({ stream: true });
  });

  it('turns an Anthropic error into the OpenAI shape with the same status and the provider’s message', async () => {
    anthropic.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 3 });
    const error = await h.client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] })
      .then(() => null, (e: unknown) => e as { status: number; error: { message: string; type: string; code: string } });
    expect(error?.status).toBe(429);
    expect(error?.error.type).toBe('rate_limit_error');
    expect(error?.error.code).toBe('rate_limit_error');
    expect(error?.error.message.length).toBeGreaterThan(0);
  });

  it('falls back from Anthropic (overloaded 529) to OpenAI, each attempt in its own API', async () => {
    anthropic.pushFault({ kind: 'status', status: 529 });
    const { data, response } = await h.client().chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'fallback please' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: fallback please');
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    expect(response.headers.get('x-tollgate-attempts')).toBe('2');
    expect(anthropic.requests[0]?.body).toMatchObject({ model: CLAUDE, max_tokens: 512 });
    expect(h.fake.requests[0]?.body).toMatchObject({ model: 'gpt-4o' });
    expect(h.fake.requests[0]?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  });

  it('falls back from OpenAI to Anthropic and translates the Anthropic answer, streamed too', async () => {
    h.fake.pushFault({ kind: 'status', status: 500 }, 2);
    const { data, response } = await h.client().chat.completions
      .create({ model: 'smart-openai-first', messages: [{ role: 'user', content: 'to claude' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: to claude');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    const stream = await h.client().chat.completions.create({
      model: 'smart-openai-first', stream: true, messages: [{ role: 'user', content: 'stream from claude' }],
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe('Echo: stream from claude');
  });

  it('surfaces an Anthropic stream failure after the first byte as an error', async () => {
    const stream = await h.client().chat.completions.create(
      { model: 'claude', stream: true, messages: [{ role: 'user', content: 'one two three four five six seven' }] },
      { headers: { 'x-fake-fault': 'error-mid-stream=4', 'x-fake-chunk-delay-ms': '10' } },
    );
    let received = '';
    const consume = async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta?.content ?? '';
    };
    await expect(consume()).rejects.toThrow();
    expect(received.length).toBeGreaterThan(0);
  });
});
