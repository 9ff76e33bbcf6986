import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';

const IMAGE = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/**
 * Capability routing through real Envoy with the openai SDK: `assistant` is served first by a small local model
 * (the harness's fake, no tools/vision/json_schema, a 300-token window) and then by a cloud model (a second fake
 * that declares them all). Plain requests stay local; requests that need more go only to the cloud, and a request
 * nobody can serve gets a 400 in the OpenAI error shape with no provider contacted.
 */
describe('capability routing', () => {
  let h: Harness;
  let cloud: FakeOpenAI;

  beforeAll(async () => {
    cloud = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    const config = testConfig();
    config.providers = {
      local: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      cloud: { type: 'openai', base_url: cloud.url, api_key_env: 'TEST_OPENAI_KEY' },
    };
    config.models = {
      assistant: {
        kind: 'chat',
        targets: [
          { provider: 'local', model: 'gpt-4o-mini', capabilities: [], context_window: 300 },
          { provider: 'cloud', model: 'gpt-4o', capabilities: ['tools', 'vision', 'json_schema'], context_window: 128_000 },
        ],
      },
      'local-only': { kind: 'chat', provider: 'local', upstream_model: 'gpt-4o-mini', capabilities: ['json_schema'], context_window: 300 },
    };
    const orgs = config.orgs as { acme: { teams: Record<string, unknown> } };
    orgs.acme.teams = {
      platform: { apps: { playground: {} } },
      'on-prem': { exclude_providers: ['cloud'], apps: { notebook: {} } },
    };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await cloud?.close();
  });
  beforeEach(() => {
    h.fake.reset();
    cloud.reset();
  });

  const client = (key = h.key) => h.client(key, { maxRetries: 0 });
  const where = async (body: Record<string, unknown>) => {
    const { response } = await client().chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'Hello' }], ...body } as never).withResponse();
    return response.headers.get('x-tollgate-provider');
  };

  it('keeps plain requests on the local model', async () => {
    expect(await where({})).toBe('local');
    expect(cloud.requestCount).toBe(0);
  });

  it('sends tools, images and JSON schemas only to the model that declares them', async () => {
    const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };
    expect(await where({ tools: [tool] })).toBe('cloud');
    expect(await where({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: IMAGE } }] }] })).toBe('cloud');
    expect(await where({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } } })).toBe('cloud');
    expect(h.fake.requestCount).toBe(0);
    expect(cloud.requestCount).toBe(3);
    expect(cloud.requests[0]?.body).toMatchObject({ model: 'gpt-4o', tools: [tool] });
  });

  it('sends a request over the local context window to the larger one', async () => {
    expect(await where({ messages: [{ role: 'user', content: 'word '.repeat(400) }] })).toBe('cloud');
    // max_tokens counts too: a short prompt asking for a long answer does not fit 300 tokens.
    expect(await where({ max_tokens: 1000 })).toBe('cloud');
    expect(await where({ max_tokens: 100 })).toBe('local');
  });

  it('answers 400 in the OpenAI error shape when no provider declares the capability, and contacts none', async () => {
    const failure = await client().chat.completions
      .create({ model: 'local-only', messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'function', function: { name: 'f' } }] })
      .then(() => null, (e: unknown) => e as { status: number; error: Record<string, unknown> });
    expect(failure?.status).toBe(400);
    expect(failure?.error).toMatchObject({ type: 'invalid_request_error', code: 'capability_not_supported', param: 'tools' });
    expect(String(failure?.error.message)).toContain('tools');
    const tooLong = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'local-only', messages: [{ role: 'user', content: 'word '.repeat(400) }] });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' } });
    expect(h.fake.requestCount + cloud.requestCount).toBe(0);
  });

  it('lists what each model can do in /v1/models', async () => {
    const models = await client().models.list();
    const assistant = models.data.find((m) => m.id === 'assistant') as unknown as Record<string, unknown>;
    expect(assistant).toMatchObject({ capabilities: ['json_schema', 'tools', 'vision'], context_window: 128_000 });
  });

  it('policy stays in charge: an excluded capable provider is not contacted, and the incapable one is not used instead', async () => {
    const key = await h.createKey('on-prem', 'notebook');
    const { response } = await client(key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(response.headers.get('x-tollgate-provider')).toBe('local');
    const refused = await postJson(`${h.baseUrl}/chat/completions`, key, {
      model: 'assistant', messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'function', function: { name: 'f' } }],
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'no_allowed_provider' } });
    expect(cloud.requestCount).toBe(0);
    expect(h.fake.requestCount).toBe(1);
  });
});
