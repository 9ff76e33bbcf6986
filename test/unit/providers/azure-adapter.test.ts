import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { AzureProviderConfig, OpenAIProviderConfig } from '../../../src/config/types.ts';
import { azureAdapter, azureDeployment } from '../../../src/providers/azure/adapter.ts';
import { azureProviderSchema } from '../../../src/providers/azure/config-schema.ts';
import type { ResponseInfo, TranslateRequestInput, TranslationTarget } from '../../../src/providers/provider-adapter.ts';
import { providerAdapter } from '../../../src/providers/registry.ts';

const provider: AzureProviderConfig = {
  type: 'azure',
  base_url: 'https://tollgate-eu.openai.azure.com',
  api_key_env: 'AZURE_EU_KEY',
  region: 'eu',
  api_version: '2024-10-21',
  deployments: { 'gpt-4o-mini': 'prod-mini', 'text-embedding-3-small': 'embed-small' },
};

function target(overrides: Partial<TranslationTarget> = {}): TranslationTarget {
  return { providerName: 'azure-eu', provider, basePath: '', upstreamModel: 'gpt-4o-mini', credential: 'azure-secret', ...overrides };
}

function input(overrides: Partial<TranslateRequestInput> = {}): TranslateRequestInput {
  return {
    endpoint: 'chat',
    body: { model: 'public-mini', messages: [{ role: 'user', content: 'hi' }] },
    stream: false,
    target: target(),
    ...overrides,
  };
}

const info = (overrides: Partial<ResponseInfo> = {}): ResponseInfo => ({
  endpoint: 'chat',
  stream: false,
  status: 200,
  clientWantsUsage: false,
  requestId: 'req-1',
  createdAt: 1_700_000_000,
  upstreamModel: 'gpt-4o-mini',
  ...overrides,
});

/** Runs a whole body through a translator in the given pieces; returns what the client gets. */
function translate(translator: ReturnType<typeof azureAdapter.translateResponse>, text: string, cuts: number[] = []): string {
  const bytes = Buffer.from(text);
  const edges = [0, ...cuts, bytes.length];
  let out = '';
  for (let i = 0; i < edges.length - 1; i++) {
    const piece = bytes.subarray(edges[i], edges[i + 1]);
    const replaced = translator.onChunk(piece, i === edges.length - 2);
    out += (replaced ?? piece).toString();
  }
  return out;
}

describe('Azure adapter: requests', () => {
  it('calls the mapped deployment with the api-version, the key in api-key, and never the client Authorization', () => {
    const request = input();
    const out = azureAdapter.translateRequest(request);
    expect(out).toEqual({
      path: '/openai/deployments/prod-mini/chat/completions?api-version=2024-10-21',
      headers: { 'api-key': 'azure-secret' },
      removeHeaders: ['authorization'],
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    // The key never goes into the URL, and the validated body is not mutated.
    expect(out.path).not.toContain('azure-secret');
    expect(request.body.model).toBe('public-mini');
  });

  it('asks for stream usage like OpenAI, keeping the client stream_options', () => {
    const out = azureAdapter.translateRequest(input({ stream: true, body: { model: 'm', messages: [], stream: true, stream_options: { include_obfuscation: false } } }));
    expect(out.body.stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    expect(out.body.stream).toBe(true);
  });

  it('builds the embeddings path, falls back to the model name as deployment, and keeps a base path', () => {
    expect(azureAdapter.translateRequest(input({ endpoint: 'embeddings', target: target({ upstreamModel: 'text-embedding-3-small' }) })).path)
      .toBe('/openai/deployments/embed-small/embeddings?api-version=2024-10-21');
    expect(azureAdapter.translateRequest(input({ target: target({ upstreamModel: 'gpt-4o', basePath: '/proxy' }) })).path)
      .toBe('/proxy/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
  });

  it('uses only configured deployments (not Object.prototype) and escapes names in the path', () => {
    expect(azureDeployment(provider, 'constructor')).toBe('constructor');
    expect(azureDeployment({ ...provider, deployments: { 'a/b': 'x y' } }, 'a/b')).toBe('x y');
    expect(azureAdapter.translateRequest(input({ target: target({ upstreamModel: 'weird/name?x=1' }) })).path)
      .toBe('/openai/deployments/weird%2Fname%3Fx%3D1/chat/completions?api-version=2024-10-21');
    expect(azureAdapter.translateRequest(input({ target: target({ provider: { ...provider, api_version: '2025-01-01-preview' } }) })).path)
      .toMatch(/\?api-version=2025-01-01-preview$/);
  });

  it('sends no api-key without a credential, and still removes the client Authorization', () => {
    const out = azureAdapter.translateRequest(input({ target: target({ credential: null }) }));
    expect(out.headers).toEqual({});
    expect(out.removeHeaders).toEqual(['authorization']);
  });

  it('refuses a provider that is not Azure, and is the registered adapter for type azure', () => {
    const openai: OpenAIProviderConfig = { type: 'openai', base_url: 'https://api.example' };
    expect(() => azureAdapter.translateRequest(input({ target: target({ provider: openai }) }))).toThrow(/not an Azure OpenAI provider/);
    expect(providerAdapter('azure')).toBe(azureAdapter);
  });
});

describe('Azure adapter: responses', () => {
  it('passes a success with content-filter annotations through byte for byte and reads its usage', () => {
    const body = JSON.stringify({
      choices: [{ content_filter_results: { hate: { filtered: false, severity: 'safe' } }, finish_reason: 'stop', index: 0, message: { role: 'assistant', content: 'Hi' } }],
      created: 1, id: 'chatcmpl-1', model: 'gpt-4o-mini', object: 'chat.completion',
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: { jailbreak: { filtered: false, detected: false } } }],
      usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10, prompt_tokens_details: { cached_tokens: 4 } },
    });
    const translator = azureAdapter.translateResponse(info());
    expect(translate(translator, body, [17, 80])).toBe(body);
    expect(translator.usage).toEqual({ promptTokens: 9, completionTokens: 1, totalTokens: 10, cachedPromptTokens: 4 });
  });

  const errors: Array<[string, number, string, object]> = [
    [
      'rate limit',
      429,
      '{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds."}}',
      { type: 'rate_limit_error', code: '429', param: null, message: expect.stringMatching(/^Requests to the ChatCompletions_Create Operation .* retry after 6 seconds\.$/) },
    ],
    [
      'content filter',
      400,
      '{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI\'s content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"violence":{"filtered":true,"severity":"medium"}}}}}',
      { type: 'invalid_request_error', code: 'content_filter', param: 'prompt', message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy." },
    ],
    [
      'missing deployment',
      404,
      '{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}',
      { type: 'not_found_error', code: 'DeploymentNotFound', param: null, message: expect.stringMatching(/^The API deployment for this resource does not exist\./) },
    ],
    [
      'bad key',
      401,
      '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}',
      { type: 'authentication_error', code: '401', param: null, message: 'Access denied due to invalid subscription key or wrong API endpoint.' },
    ],
    ['a proxy page', 502, '<html>Bad Gateway</html>', { type: 'api_error', code: null, param: null, message: '<html>Bad Gateway</html>' }],
  ];

  it.each(errors)('turns Azure\'s %s error into the OpenAI shape, keeping message and code', (_name, status, body, expected) => {
    const translator = azureAdapter.translateResponse(info({ status }));
    const out = JSON.parse(translate(translator, body, [5]));
    expect(Object.keys(out)).toEqual(['error']);
    expect(Object.keys(out.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(out.error).toEqual(expected);
    expect(translator.usage).toBeNull();
  });

  // What Azure streams for a client that did not ask for usage (Tollgate asked on its behalf): a leading chunk with
  // no choices and the prompt's filter results, annotated content chunks, the usage chunk, [DONE].
  const promptFilterChunk = 'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}\n\n';
  const contentChunk = (text: string) =>
    `data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":${JSON.stringify(text)}},"finish_reason":null,"index":0}],"created":1,"id":"chatcmpl-1","model":"gpt-4o-mini","object":"chat.completion.chunk","usage":null}\n\n`;
  const usageChunk = 'data: {"choices":[],"created":1,"id":"chatcmpl-1","model":"gpt-4o-mini","object":"chat.completion.chunk","usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}\n\n';
  const stream = promptFilterChunk + contentChunk('Hel') + contentChunk('lo') + usageChunk + 'data: [DONE]\n\n';

  it('keeps Azure\'s leading prompt_filter_results chunk when it strips the usage chunk, at any chunk boundary', () => {
    const expected = promptFilterChunk + contentChunk('Hel').replace(',"usage":null', '') + contentChunk('lo').replace(',"usage":null', '') + 'data: [DONE]\n\n';
    for (const cuts of [[], [3], [promptFilterChunk.length - 1, promptFilterChunk.length + 1], [200, 400, 600]]) {
      const translator = azureAdapter.translateResponse(info({ stream: true }));
      expect(translate(translator, stream, cuts)).toBe(expected);
      expect(translator.usage).toEqual({ promptTokens: 8, completionTokens: 2, totalTokens: 10 });
      expect(translator.truncated).toBe(false);
    }
  });

  it('passes the whole stream through when the client asked for usage, and flags a stream cut before [DONE]', () => {
    const passthrough = azureAdapter.translateResponse(info({ stream: true, clientWantsUsage: true }));
    expect(translate(passthrough, stream, [50])).toBe(stream);

    const cut = azureAdapter.translateResponse(info({ stream: true, clientWantsUsage: true }));
    const out = translate(cut, promptFilterChunk + contentChunk('Hel'));
    expect(out.startsWith(promptFilterChunk + contentChunk('Hel'))).toBe(true);
    expect(out).toContain('"code":"stream_truncated"');
    expect(cut.truncated).toBe(true);
  });
});

describe('Azure config schema fragment', () => {
  const ajv = new Ajv({ useDefaults: true, allErrors: true });
  const validate = ajv.compile({ type: 'object', additionalProperties: false, ...azureProviderSchema });

  it('requires a dated api_version and defaults deployments to {}', () => {
    const entry: Record<string, unknown> = { api_version: '2025-01-01-preview' };
    expect(validate(entry)).toBe(true);
    expect(entry.deployments).toEqual({});
    expect(validate({})).toBe(false);
    expect(validate({ api_version: 'latest' })).toBe(false);
    expect(validate({ api_version: '2024-10-21', deployments: { 'gpt-4o': 'prod-4o' } })).toBe(true);
    expect(validate({ api_version: '2024-10-21', deployments: { 'gpt-4o': 7 } })).toBe(false);
    expect(validate({ api_version: '2024-10-21', deployments: { 'gpt-4o': '../x' } })).toBe(false);
  });
});
