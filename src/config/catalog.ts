import { parseBaseUrl } from '../envoy/provider-endpoints.ts';
import type { RouteCandidate } from '../pipeline/context.ts';
import type { ModelConfig, ProviderConfig, TollgateConfig } from './types.ts';

export interface TenantRef {
  org: string;
  team: string;
  app: string;
}

export interface ResolvedProvider {
  name: string;
  config: ProviderConfig;
  /** Path prefix of the provider's base URL, e.g. `/v1`. */
  basePath: string;
}

export type ModelAccess =
  | { allowed: true; model: ModelConfig & { name: string } }
  | { allowed: false; reason: 'unknown' }
  | { allowed: false; reason: 'scope'; detail: string };

/**
 * Read-only lookups derived once from a config: which models exist, which a tenant may use, where a provider lives.
 * A config reload builds a new Catalog; requests in flight keep the one they started with.
 */
export class Catalog {
  readonly config: TollgateConfig;
  private readonly providers = new Map<string, ResolvedProvider>();

  /** Each model's config with its name, made once per catalog (a reload brings a new catalog): read-only, shared. */
  private readonly namedModels = new Map<string, ModelConfig & { name: string }>();

  constructor(config: TollgateConfig, providerBaseUrls: Record<string, string> = {}) {
    this.config = config;
    for (const [name, provider] of Object.entries(config.providers)) {
      const baseUrl = providerBaseUrls[name] ?? provider.base_url;
      this.providers.set(name, { name, config: provider, basePath: parseBaseUrl(baseUrl).basePath });
    }
  }

  tenantExists(t: TenantRef): boolean {
    return Boolean(this.config.orgs[t.org]?.teams[t.team]?.apps[t.app]);
  }

  provider(name: string): ResolvedProvider | undefined {
    return this.providers.get(name);
  }

  /** Team and app allow-lists both apply; an absent list allows every model. */
  access(t: TenantRef, modelName: string): ModelAccess {
    const model = Object.hasOwn(this.config.models, modelName) ? this.config.models[modelName] : undefined;
    if (!model) return { allowed: false, reason: 'unknown' };
    const team = this.config.orgs[t.org]?.teams[t.team];
    if (team?.models && !team.models.includes(modelName)) {
      return { allowed: false, reason: 'scope', detail: `team ${t.team} may only use ${team.models.join(', ')}` };
    }
    const app = team?.apps[t.app];
    if (app?.models && !app.models.includes(modelName)) {
      return { allowed: false, reason: 'scope', detail: `app ${t.app} may only use ${app.models.join(', ')}` };
    }
    let named = this.namedModels.get(modelName);
    if (!named) this.namedModels.set(modelName, (named = { ...model, name: modelName }));
    return { allowed: true, model: named };
  }

  /** The providers that serve a model, in fallback order. */
  candidates(modelName: string): RouteCandidate[] {
    const model = Object.hasOwn(this.config.models, modelName) ? this.config.models[modelName] : undefined;
    return (model?.targets ?? []).flatMap((target) => {
      const provider = this.providers.get(target.provider);
      if (!provider) return [];
      const capabilities = target.capabilities ?? model?.capabilities;
      return [{
        provider: provider.name, vendor: provider.config.type, region: provider.config.region ?? null, model: target.model,
        capabilities: capabilities ? new Set(capabilities) : null,
        contextWindow: target.context_window ?? model?.context_window ?? null,
      }];
    });
  }

  modelsFor(t: TenantRef): string[] {
    return Object.keys(this.config.models).filter((name) => this.access(t, name).allowed);
  }
}
