import type { ProviderType, TollgateConfig } from '../config/types.ts';
import { CredentialResolver } from '../providers/credentials.ts';

const DEMO_PROVIDER_KEY = 'sk-tollgate-demo-provider';

export interface DemoProviders {
  /** Provider name → the base URL of the fake standing in for it. */
  baseUrls: Record<string, string>;
  close(): Promise<void>;
}

interface RunningFake {
  url: string;
  close(): Promise<void>;
}

/** The upstream model names the config asks of providers of one type, by endpoint kind. */
function modelsOf(config: TollgateConfig, type: ProviderType, kind: 'chat' | 'embeddings'): string[] {
  return Object.values(config.models)
    .filter((model) => model.kind === kind)
    .flatMap((model) => model.targets)
    .filter((target) => config.providers[target.provider]?.type === type)
    .map((target) => target.model);
}

/**
 * One strict fake per provider wire API, so the demo runs every translation for real. The fakes live in test/fakes
 * (loaded only here, on demand); each demands its own provider key, which Tollgate injects in place of the virtual key.
 */
const demoFakes: Record<ProviderType, (config: TollgateConfig) => Promise<RunningFake & { baseUrl: string }>> = {
  async openai(config) {
    const { startFakeOpenAI } = await import('../../test/fakes/openai-provider.ts');
    const fake = await startFakeOpenAI({
      models: { chat: modelsOf(config, 'openai', 'chat'), embeddings: modelsOf(config, 'openai', 'embeddings') },
      recordBodies: false,
      apiKey: DEMO_PROVIDER_KEY,
    });
    return { url: fake.url, baseUrl: fake.url, close: () => fake.close() };
  },
  async anthropic(config) {
    const { startFakeAnthropic } = await import('../../test/fakes/anthropic-provider.ts');
    const fake = await startFakeAnthropic({ models: modelsOf(config, 'anthropic', 'chat'), recordBodies: false, apiKey: DEMO_PROVIDER_KEY });
    return { url: fake.url, baseUrl: `${fake.url}/v1`, close: () => fake.close() };
  },
  async gemini(config) {
    const { startFakeGemini } = await import('../../test/fakes/gemini-provider.ts');
    const fake = await startFakeGemini({
      models: { chat: modelsOf(config, 'gemini', 'chat'), embeddings: modelsOf(config, 'gemini', 'embeddings') },
      recordBodies: false,
      apiKey: DEMO_PROVIDER_KEY,
    });
    return { url: fake.url, baseUrl: fake.url, close: () => fake.close() };
  },
  async azure(config) {
    const { startFakeAzure } = await import('../../test/fakes/azure-provider.ts');
    const deployments: Record<string, { model: string; kind: 'chat' | 'embeddings' }> = {};
    for (const provider of Object.values(config.providers)) {
      if (provider.type !== 'azure') continue;
      for (const kind of ['chat', 'embeddings'] as const) {
        for (const model of modelsOf(config, 'azure', kind)) deployments[provider.deployments[model] ?? model] = { model, kind };
      }
    }
    const fake = await startFakeAzure({ deployments, recordBodies: false, apiKey: DEMO_PROVIDER_KEY });
    return { url: fake.url, baseUrl: fake.url, close: () => fake.close() };
  },
};

/** The demo stands in for every provider when none has a credential (a fresh `npm start`). */
export function demoNeeded(config: TollgateConfig): boolean {
  const resolver = new CredentialResolver();
  return Object.values(config.providers).every((p) => CredentialResolver.needsCredential(p) && !resolver.has(p));
}

export async function startDemoProviders(config: TollgateConfig): Promise<DemoProviders> {
  const types = [...new Set(Object.values(config.providers).map((p) => p.type))];
  const fakes = new Map<ProviderType, RunningFake & { baseUrl: string }>();
  for (const type of types) fakes.set(type, await demoFakes[type](config));
  const baseUrls: Record<string, string> = {};
  for (const [name, provider] of Object.entries(config.providers)) {
    baseUrls[name] = (fakes.get(provider.type) as { baseUrl: string }).baseUrl;
    if (provider.api_key_env) process.env[provider.api_key_env] = DEMO_PROVIDER_KEY;
  }
  return { baseUrls, close: async () => void (await Promise.all([...fakes.values()].map((fake) => fake.close()))) };
}
