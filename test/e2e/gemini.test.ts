import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-provider.ts';
import { PLACEHOLDER_URL, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

const GEMINI_KEY = 'gemini-fake-key';
const ANTHROPIC_KEY = 'sk-ant-fake';

/**
 * The official OpenAI SDK against Envoy, answered by the strict Gemini fake (which refuses a key in the URL), and a
 * three-provider chain Anthropic → OpenAI → Gemini that walks to its last provider.
 */
describe('Gemini through Envoy with the OpenAI SDK', () => {
  let h: Harness;
  let gemini: FakeGemini;
  let anthropic: FakeAnthropic;

  beforeAll(async () => {
    gemini = await startFakeGemini({ apiKey: GEMINI_KEY });
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    process.env.TEST_GEMINI_KEY = GEMINI_KEY;
    process.env.TEST_ANTHROPIC_KEY = ANTHROPIC_KEY;
    const config = testConfig();
    // Fallback without same-provider retries (those are tested in retries.test.ts).
    config.routing = { retries: { max: 0 } };
    config.providers = {
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      gemini: { type: 'gemini', base_url: gemini.url, api_key_env: 'TEST_GEMINI_KEY' },
      anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY' },
    };
    config.models = {
      'gemini-pro': { provider: 'gemini', upstream_model: 'gemini-2.5-pro' },
      'gpt-4o': { provider: 'openai' },
      'gemini-embed': { provider: 'gemini', kind: 'embeddings', upstream_model: 'gemini-embedding-001' },
      smart: {
        targets: [
          { provider: 'anthropic', model: 'claude-sonnet-4-5' },
          { provider: 'openai', model: 'gpt-4o' },
          { provider: 'gemini', model: 'gemini-2.5-pro' },
        ],
      },
    };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await gemini?.close();
    await anthropic?.close();
    delete process.env.TEST_GEMINI_KEY;
    delete process.env.TEST_ANTHROPIC_KEY;
  });
  beforeEach(() => {
    h.fake.reset();
    gemini.reset();
    anthropic.reset();
  });

  it('answers in OpenAI format; the key travels in a header, never in the URL', async () => {
    const { data, response } = await h.client().chat.completions.create({
      model: 'gemini-pro', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello Gemini' }],
    }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: Hello Gemini');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-tollgate-provider')).toBe('gemini');
    const sent = gemini.requests[0];
    expect(sent?.path).toBe('/v1beta/models/gemini-2.5-pro:generateContent');
    expect(sent?.query).not.toContain('key=');
    expect(sent?.headers['x-goog-api-key']).toBe(GEMINI_KEY);
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.body).toMatchObject({ systemInstruction: { parts: [{ text: 'Be brief.' }] } });
  });

  it('streams: the text reassembles exactly and usage matches the non-streamed answer', async () => {
    const text = 'alpha beta gamma delta epsilon zeta';
    const whole = await h.client().chat.completions.create({ model: 'gemini-pro', messages: [{ role: 'user', content: text }] });
    const stream = await h.client().chat.completions.create({
      model: 'gemini-pro', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: text }],
    });
    let streamed = '';
    let usage: { prompt_tokens: number; completion_tokens: number } | null | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(streamed).toBe(whole.choices[0]?.message.content);
    expect(usage).toMatchObject({ prompt_tokens: whole.usage?.prompt_tokens, completion_tokens: whole.usage?.completion_tokens });
    expect(gemini.requests[1]?.path).toBe('/v1beta/models/gemini-2.5-pro:streamGenerateContent');
    expect(gemini.requests[1]?.query).toContain('alt=sse');
  });

  it('embeds through batchEmbedContents, in the OpenAI embeddings shape', async () => {
    const result = await h.client().embeddings.create({ model: 'gemini-embed', input: ['one', 'two'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[1]?.index).toBe(1);
    expect(result.data[0]?.embedding.length).toBeGreaterThan(3);
    expect(gemini.requests[0]?.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
  });

  it('walks a three-provider chain to its last provider, each attempt in its own API', async () => {
    anthropic.pushFault({ kind: 'status', status: 529 });
    h.fake.pushFault({ kind: 'status', status: 503 });
    const { data, response } = await h.client().chat.completions
      .create({ model: 'smart', messages: [{ role: 'user', content: 'last resort' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: last resort');
    expect(response.headers.get('x-tollgate-provider')).toBe('gemini');
    expect(response.headers.get('x-tollgate-attempts')).toBe('3');
    expect([anthropic.requestCount, h.fake.requestCount, gemini.requestCount]).toEqual([1, 1, 1]);
    // No credential of an earlier attempt reached a later provider.
    expect(gemini.requests[0]?.headers['x-api-key']).toBeUndefined();
    expect(gemini.requests[0]?.headers.authorization).toBeUndefined();
    expect(h.fake.requests[0]?.headers['x-api-key']).toBeUndefined();
    expect(h.fake.requests[0]?.headers['anthropic-version']).toBeUndefined();
  });

  it('turns a Google error into the OpenAI shape with the provider’s message', async () => {
    gemini.pushFault({ kind: 'status', status: 429 });
    const error = await h.client().chat.completions.create({ model: 'gemini-pro', messages: [{ role: 'user', content: 'hi' }] })
      .then(() => null, (e: unknown) => e as { status: number; error: { type: string; code: string; message: string } });
    expect(error).toMatchObject({ status: 429, error: { type: 'rate_limit_error', code: 'RESOURCE_EXHAUSTED' } });
  });

  it('gives Gemini’s RetryInfo.retryDelay to the client as Retry-After on 429 and 503, the body still OpenAI-shaped', async () => {
    for (const [status, delay, expected] of [[429, 2, '2'], [503, 7, '7']] as const) {
      gemini.pushFault({ kind: 'status', status, retryAfterSeconds: delay });
      const response = await fetch(`${h.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gemini-pro', messages: [{ role: 'user', content: 'hint please' }] }),
      });
      expect(response.status).toBe(status);
      expect(response.headers.get('retry-after')).toBe(expected);
      expect(await response.json()).toMatchObject({ error: { code: status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE' } });
    }
    // No hint, no header; and a success is untouched (streamed too).
    gemini.pushFault({ kind: 'status', status: 429 });
    const bare = await h.client().chat.completions.create({ model: 'gemini-pro', messages: [{ role: 'user', content: 'no hint' }] })
      .withResponse().then(() => null, (e: { status: number; headers: Headers }) => e);
    expect(bare?.status).toBe(429);
    expect(bare?.headers.get('retry-after')).toBeNull();
    let streamed = '';
    for await (const chunk of await h.client().chat.completions.create({ model: 'gemini-pro', stream: true, messages: [{ role: 'user', content: 'fine stream' }] })) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(streamed).toBe('Echo: fine stream');
  });

  it('passes the hint of the chain’s last provider: a Gemini 429 after Anthropic and OpenAI failed', async () => {
    anthropic.pushFault({ kind: 'status', status: 529 });
    h.fake.pushFault({ kind: 'status', status: 500 });
    gemini.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 4 });
    const error = await h.client().chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'all busy' }] })
      .then(() => null, (e: { status: number; headers: Headers }) => e);
    expect(error?.status).toBe(429);
    expect(error?.headers.get('retry-after')).toBe('4');
  });

  it('keeps the retry-after header other providers send (OpenAI 429)', async () => {
    h.fake.pushFault({ kind: 'status', status: 429, retryAfterSeconds: 3 });
    const error = await h.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'openai busy' }] })
      .then(() => null, (e: { status: number; headers: Headers }) => e);
    expect(error?.status).toBe(429);
    expect(error?.headers.get('retry-after')).toBe('3');
  });
});
