import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { FAKE_AZURE_KEY, startFakeAzure, type FakeAzure } from '../fakes/azure-provider.ts';
import { PLACEHOLDER_URL, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';
import { buildPolicyBundle } from '../helpers/policy-bundle.ts';

const ANTHROPIC_KEY = 'sk-ant-policy';

/**
 * The seed's examples, enforced on real provider APIs: "HR may not send PII to Anthropic" and "Finance must use
 * Azure OpenAI in the EU". Policy narrows what Envoy may try, so an excluded provider is never contacted, not even
 * as a fallback when the allowed one fails.
 */
describe('policy decides which provider APIs may serve', () => {
  let h: Harness;
  let anthropic: FakeAnthropic;
  let azureUs: FakeAzure;
  let azureEu: FakeAzure;
  let dir: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-providers-'));
    const bundle = await buildPolicyBundle({
      data: {
        tenants: {
          defaults: { redact: ['secret'], forbid_cache_with_pii: true },
          business_hours: {},
          orgs: {
            acme: {
              teams: {
                hr: { pii_blocked_vendors: ['anthropic'] },
                finance: { required_vendor: 'azure', required_region: 'eu' },
              },
            },
          },
        },
      },
    }, join(dir, 'bundle.tar.gz'));
    anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    azureUs = await startFakeAzure({ region: 'eastus' });
    azureEu = await startFakeAzure({ region: 'swedencentral' });
    process.env.TEST_ANTHROPIC_KEY = ANTHROPIC_KEY;
    process.env.TEST_AZURE_KEY = FAKE_AZURE_KEY;
    const azure = (url: string, region: string) => ({ type: 'azure', base_url: url, api_key_env: 'TEST_AZURE_KEY', region, api_version: '2024-10-21' });
    h = await startHarness({
      config: {
        logging: { level: 'silent' },
        // Fallback without same-provider retries (those are tested in retries.test.ts).
        routing: { retries: { max: 0 } },
        providers: {
          anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY', region: 'us' },
          openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY', region: 'us' },
          'azure-us': azure(azureUs.url, 'us'),
          'azure-eu': azure(azureEu.url, 'eu'),
        },
        models: {
          smart: { targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }, { provider: 'openai', model: 'gpt-4o' }] },
          'gpt-4o': {
            targets: [
              { provider: 'openai', model: 'gpt-4o' },
              { provider: 'azure-us', model: 'gpt-4o' },
              { provider: 'azure-eu', model: 'gpt-4o' },
            ],
          },
        },
        orgs: { acme: { teams: { platform: { apps: { playground: {} } }, hr: { apps: { app: {} } }, finance: { apps: { app: {} } } } } },
        policy: { bundle, audit_log: join(dir, 'audit.jsonl'), watch: false },
      },
    });
    keys.hr = await h.createKey('hr', 'app');
    keys.finance = await h.createKey('finance', 'app');
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all([anthropic?.close(), azureUs?.close(), azureEu?.close()]);
    await rm(dir, { recursive: true, force: true });
    delete process.env.TEST_ANTHROPIC_KEY;
    delete process.env.TEST_AZURE_KEY;
  });
  beforeEach(() => {
    for (const fake of [h.fake, anthropic, azureUs, azureEu]) fake.reset();
  });

  const chat = (key: string, model: string, content: string) =>
    postJson(`${h.baseUrl}/chat/completions`, key, { model, messages: [{ role: 'user', content }] });

  it('HR without PII may use Anthropic', async () => {
    const response = await chat(keys.hr as string, 'smart', 'Summarise our leave policy');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    expect(anthropic.requestCount).toBe(1);
  });

  it('HR with PII never reaches Anthropic: OpenAI answers, and when OpenAI fails Anthropic is still not tried', async () => {
    const pii = 'Draft a letter to jane.doe@acme-corp.com, phone +84 912 345 678';
    const ok = await chat(keys.hr as string, 'smart', pii);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-tollgate-provider')).toBe('openai');
    h.fake.pushFault({ kind: 'status', status: 503 });
    const failed = await chat(keys.hr as string, 'smart', pii);
    expect(failed.status).toBe(503);
    expect(anthropic.requestCount).toBe(0);
  });

  it('Finance is served by Azure OpenAI in the EU only; when it fails nothing else is contacted', async () => {
    const ok = await chat(keys.finance as string, 'gpt-4o', 'Q3 revenue forecast');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-tollgate-provider')).toBe('azure-eu');
    expect(azureEu.requests[0]?.path).toBe('/openai/deployments/gpt-4o/chat/completions');
    azureEu.pushFault({ kind: 'status', status: 500 });
    const failed = await chat(keys.finance as string, 'gpt-4o', 'Q3 revenue forecast');
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as { error: { type: string } }).error.type).toBe('api_error');
    expect([h.fake.requestCount, azureUs.requestCount, azureEu.requestCount]).toEqual([0, 0, 2]);
  });

  it('other teams use the whole chain, in order', async () => {
    const response = await chat(h.key, 'gpt-4o', 'hello');
    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
  });
});
