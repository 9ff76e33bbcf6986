import type { ConfigHolder } from '../config/config-holder.ts';
import type { CredentialResolver } from '../providers/credentials.ts';

/** Turns text into a vector; null when the model could not answer in time (the semantic lookup is then skipped). */
export interface Embedder {
  embed(text: string): Promise<Float32Array | null>;
}

/**
 * Embeddings through our own provider layer: the configured embeddings model's provider, its base URL and its
 * credential, exactly as a client's /v1/embeddings request would reach it, but called from Tollgate directly
 * (a cache lookup happens while Envoy waits for our answer, so it cannot go through Envoy). OpenAI-compatible
 * providers only: the semantic cache needs nothing more.
 */
export class ProviderEmbedder implements Embedder {
  private readonly config: ConfigHolder;
  private readonly credentials: CredentialResolver;
  private readonly baseUrls: Record<string, string>;

  constructor(deps: { config: ConfigHolder; credentials: CredentialResolver; providerBaseUrls?: Record<string, string> }) {
    this.config = deps.config;
    this.credentials = deps.credentials;
    this.baseUrls = deps.providerBaseUrls ?? {};
  }

  async embed(text: string): Promise<Float32Array | null> {
    const catalog = this.config.catalog();
    const cache = catalog.config.cache;
    const model = cache.embeddings_model;
    if (!model) return null;
    const target = catalog.candidates(model)[0];
    const provider = target ? catalog.provider(target.provider) : undefined;
    if (!target || !provider || provider.config.type !== 'openai') return null;
    const baseUrl = (this.baseUrls[provider.name] ?? provider.config.base_url).replace(/\/+$/, '');
    const credential = this.credentials.get(provider.config);
    const response = await fetch(`${baseUrl}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
      body: JSON.stringify({ model: target.model, input: [text], encoding_format: 'float' }),
      signal: AbortSignal.timeout(cache.embeddings_timeout_ms),
    });
    if (!response.ok) throw new Error(`embeddings provider ${provider.name} answered ${response.status}`);
    const parsed = (await response.json()) as { data?: Array<{ embedding?: unknown }> };
    const embedding = parsed.data?.[0]?.embedding;
    if (!Array.isArray(embedding) || embedding.length === 0) throw new Error(`embeddings provider ${provider.name} sent no embedding`);
    return normalize(Float32Array.from(embedding as number[]));
  }
}

/** Unit length, so cosine similarity is a dot product. */
export function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}
