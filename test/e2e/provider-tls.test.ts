import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_AZURE_KEY, startFakeAzure, type FakeAzure } from '../fakes/azure-provider.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { createTestCa, type TestCa } from '../helpers/test-ca.ts';

/**
 * Real TLS to a provider: an Azure OpenAI fake served over HTTPS with a certificate from a throwaway CA, for the
 * name `azure.test` only. Envoy must trust that CA, send the name as SNI and check the certificate names it.
 */
describe('TLS to providers, verified by Envoy', () => {
  let ca: TestCa;
  let azure: FakeAzure;
  let otherCa: TestCa;
  let h: Harness;

  beforeAll(async () => {
    ca = await createTestCa();
    otherCa = await createTestCa();
    const cert = await ca.issue('azure', ['DNS:azure.test']);
    azure = await startFakeAzure({ tls: { cert: cert.cert, key: cert.key } });
    const port = new URL(azure.url).port;
    const config = testConfig();
    const azureProvider = (tls: object) => ({
      type: 'azure', base_url: `https://127.0.0.1:${port}`, api_key_env: 'TEST_AZURE_KEY', region: 'eu',
      api_version: '2024-10-21', deployments: { 'gpt-4o': 'gpt-4o' }, tls,
    });
    config.providers = {
      'azure-eu': azureProvider({ ca_file: ca.caCertPath, server_name: 'azure.test' }),
      // Same server, but the certificate does not name what this entry expects.
      'azure-wrong-name': azureProvider({ ca_file: ca.caCertPath, server_name: 'other.test' }),
      // Same server, but its CA is not trusted.
      'azure-untrusted': azureProvider({ ca_file: otherCa.caCertPath, server_name: 'azure.test' }),
    };
    config.models = {
      'gpt-4o': { provider: 'azure-eu', kind: 'chat' },
      'gpt-4o-wrong-name': { provider: 'azure-wrong-name', kind: 'chat', upstream_model: 'gpt-4o' },
      'gpt-4o-untrusted': { provider: 'azure-untrusted', kind: 'chat', upstream_model: 'gpt-4o' },
    };
    config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
    process.env.TEST_AZURE_KEY = FAKE_AZURE_KEY;
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await azure?.close();
    await ca?.remove();
    await otherCa?.remove();
    delete process.env.TEST_AZURE_KEY;
  });
  beforeEach(() => azure.reset());

  it('reaches the HTTPS provider with verification on: SNI sent, Azure path, api-key, api-version', async () => {
    const { data, response } = await h.client().chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'over TLS' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: over TLS');
    expect(response.headers.get('x-tollgate-provider')).toBe('azure-eu');
    const received = azure.requests[0];
    expect(received?.servername).toBe('azure.test');
    expect(received?.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    expect(received?.query['api-version']).toBe('2024-10-21');
    expect(received?.headers['api-key']).toBe(FAKE_AZURE_KEY);
    expect(received?.headers.authorization).toBeUndefined();
  });

  it('streams from the HTTPS provider', async () => {
    const stream = await h.client().chat.completions.create({
      model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a b c d' }],
    });
    let text = '';
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      total = chunk.usage?.total_tokens ?? total;
    }
    expect(text).toBe('Echo: a b c d');
    expect(total).toBeGreaterThan(0);
  });

  for (const [model, why] of [['gpt-4o-wrong-name', 'a certificate for another name'], ['gpt-4o-untrusted', 'an untrusted CA']] as const) {
    it(`refuses ${why}: the request fails with an OpenAI-shaped 503 and never reaches the provider`, async () => {
      const response = await fetch(`${h.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'should not arrive' }] }),
      });
      expect(response.status).toBeGreaterThanOrEqual(502);
      expect(response.status).toBeLessThanOrEqual(503);
      expect(((await response.json()) as { error: { type: string } }).error.type).toBe('api_error');
      expect(azure.requestCount).toBe(0);
    });
  }
});
