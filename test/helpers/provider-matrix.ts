import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-provider.ts';
import { FAKE_AZURE_KEY, startFakeAzure, type FakeAzure } from '../fakes/azure-provider.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-provider.ts';
import { startFakeVllm, type FakeVllm } from '../fakes/vllm-provider.ts';
import { freePort } from './free-port.ts';
import { PLACEHOLDER_URL, startHarness, testConfig, type Harness } from './gateway-harness.ts';

const ANTHROPIC_KEY = 'sk-ant-fake-key';
const GEMINI_KEY = 'gemini-fake-key';
const VLLM_KEY = 'vllm-fake-key';
const ENV_KEYS = { TEST_ANTHROPIC_KEY: ANTHROPIC_KEY, TEST_GEMINI_KEY: GEMINI_KEY, TEST_AZURE_KEY: FAKE_AZURE_KEY, TEST_VLLM_KEY: VLLM_KEY };

/** One row of the client matrix: a public model name served by one provider (or a chain), in the caller's dialect. */
export interface MatrixTarget {
  /** What the test names the row after, and what `x-tollgate-provider` says answered. */
  provider: 'openai' | 'azure' | 'anthropic' | 'gemini' | 'vllm';
  label: string;
  chat: string;
  /** The provider's embeddings model behind a public name; Anthropic has none. */
  embeddings: string | null;
  /** Anthropic has no json_schema mapping in the chat translation yet: the gateway refuses it with a 400. */
  jsonSchema: boolean;
}

/**
 * Every provider Tollgate translates to, plus a fallback chain whose first provider is down (nothing listens) and
 * whose second is Anthropic: the answer must still come back in the OpenAI dialect the client spoke.
 */
export const MATRIX: readonly MatrixTarget[] = [
  { provider: 'openai', label: 'openai', chat: 'gpt-4o-mini', embeddings: 'text-embedding-3-small', jsonSchema: true },
  { provider: 'azure', label: 'azure', chat: 'azure-4o', embeddings: 'azure-embed', jsonSchema: true },
  { provider: 'anthropic', label: 'anthropic', chat: 'claude', embeddings: null, jsonSchema: false },
  { provider: 'gemini', label: 'gemini', chat: 'gemini-pro', embeddings: 'gemini-embed', jsonSchema: true },
  { provider: 'vllm', label: 'vllm', chat: 'llama', embeddings: 'bge-small', jsonSchema: true },
  { provider: 'anthropic', label: 'fallback (down → anthropic)', chat: 'down-then-claude', embeddings: null, jsonSchema: false },
];

export interface ProviderMatrix {
  h: Harness;
  anthropic: FakeAnthropic;
  gemini: FakeGemini;
  azure: FakeAzure;
  vllm: FakeVllm;
  /** Empties every fake's recorded requests and faults. */
  reset(): void;
  stop(): Promise<void>;
}

/** One gateway (real Envoy + Tollgate) in front of the strict fake of every provider, for a test file's beforeAll. */
export async function startProviderMatrix(): Promise<ProviderMatrix> {
  const [anthropic, gemini, azure, vllm] = await Promise.all([
    startFakeAnthropic({ apiKey: ANTHROPIC_KEY }),
    startFakeGemini({ apiKey: GEMINI_KEY }),
    startFakeAzure({}),
    startFakeVllm({ apiKey: VLLM_KEY }),
  ]);
  Object.assign(process.env, ENV_KEYS);
  const config = testConfig();
  config.providers = {
    openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
    azure: { type: 'azure', base_url: azure.url, api_key_env: 'TEST_AZURE_KEY', api_version: '2024-10-21' },
    anthropic: { type: 'anthropic', base_url: `${anthropic.url}/v1`, api_key_env: 'TEST_ANTHROPIC_KEY', default_max_tokens: 512 },
    gemini: { type: 'gemini', base_url: gemini.url, api_key_env: 'TEST_GEMINI_KEY' },
    vllm: { type: 'openai', base_url: vllm.url, api_key_env: 'TEST_VLLM_KEY' },
    down: { type: 'openai', base_url: `http://127.0.0.1:${await freePort()}/v1`, api_key_env: 'TEST_OPENAI_KEY' },
  };
  config.models = {
    'gpt-4o-mini': { provider: 'openai' },
    'text-embedding-3-small': { provider: 'openai', kind: 'embeddings' },
    'azure-4o': { provider: 'azure', upstream_model: 'gpt-4o' },
    'azure-embed': { provider: 'azure', kind: 'embeddings', upstream_model: 'text-embedding-3-small' },
    claude: { provider: 'anthropic', upstream_model: 'claude-sonnet-4-5' },
    'gemini-pro': { provider: 'gemini', upstream_model: 'gemini-2.5-pro' },
    'gemini-embed': { provider: 'gemini', kind: 'embeddings', upstream_model: 'gemini-embedding-001' },
    llama: { provider: 'vllm', upstream_model: 'meta-llama/Llama-3.1-8B-Instruct' },
    'bge-small': { provider: 'vllm', kind: 'embeddings', upstream_model: 'BAAI/bge-small-en-v1.5' },
    'down-then-claude': { targets: [{ provider: 'down', model: 'gpt-4o' }, { provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
  };
  config.orgs = { acme: { teams: { platform: { apps: { playground: {} } } } } };
  // The fallback row walks to its second provider; same-provider retries are retries.test.ts's subject.
  config.routing = { retries: { max: 0 } };
  let h: Harness;
  try {
    h = await startHarness({ config });
  } catch (error) {
    await Promise.all([anthropic.close(), gemini.close(), azure.close(), vllm.close()]);
    throw error;
  }
  return {
    h, anthropic, gemini, azure, vllm,
    reset() {
      for (const fake of [h.fake, anthropic, gemini, azure, vllm]) fake.reset();
    },
    async stop() {
      await h.stop();
      await Promise.all([anthropic.close(), gemini.close(), azure.close(), vllm.close()]);
      for (const name of Object.keys(ENV_KEYS)) delete process.env[name];
    },
  };
}
