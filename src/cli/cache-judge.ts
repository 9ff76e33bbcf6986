import { createInterface } from 'node:readline';
import { cacheRuleFor } from '../cache/config.ts';
import { ProviderEmbedder } from '../cache/embeddings-client.ts';
import { judgePair } from '../cache/semantic-judge.ts';
import { ConfigHolder } from '../config/config-holder.ts';
import { loadConfigFile } from '../config/load-config.ts';
import { CredentialResolver } from '../providers/credentials.ts';

/**
 * `tollgate cache-judge`: the semantic cache's decision over JSONL pairs on stdin, for operators to test it on their
 * own traffic. Each line {"a": stored prompt, "b": asked prompt} (same tenant, model and settings) gets
 * {"hit", "similarity", "reason"}: exactly what the running cache decides with the configured embeddings model,
 * threshold (of --model's cache rule, else the defaults) and checks. A bad line gets {"error"} in its place.
 */
export async function cacheJudgeCommand(options: { configPath: string; model?: string; threshold?: string }): Promise<void> {
  const config = loadConfigFile(options.configPath);
  const rule = options.model ? cacheRuleFor(config.cache, options.model) : config.cache.defaults;
  const threshold = options.threshold !== undefined ? Number(options.threshold) : rule.semantic_threshold;
  if (threshold === undefined || !(threshold > 0 && threshold <= 1)) {
    throw new Error('no semantic_threshold in the cache rule: set cache.defaults.semantic_threshold (or the model\'s), or pass --threshold');
  }
  if (!config.cache.embeddings_model) throw new Error('cache.embeddings_model is not set');
  const credentials = new CredentialResolver({ env: process.env });
  await credentials.preload(Object.values(config.providers));
  const embedder = new ProviderEmbedder({ config: new ConfigHolder(config), credentials });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    process.stdout.write(`${JSON.stringify(await judgeLine(line, embedder, threshold))}\n`);
  }
}

async function judgeLine(line: string, embedder: ProviderEmbedder, threshold: number): Promise<object> {
  let pair: { a?: unknown; b?: unknown };
  try {
    pair = JSON.parse(line) as typeof pair;
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  if (typeof pair?.a !== 'string' || typeof pair.b !== 'string') return { error: 'expected {"a": string, "b": string}' };
  const [va, vb] = await Promise.all([embedder.embed(pair.a), embedder.embed(pair.b)]);
  // A failed embedding is a miss in the gateway (the lookup is skipped): say so rather than guess.
  if (!va || !vb) return { hit: false, similarity: null, reason: 'embedding_unavailable' };
  return judgePair({ text: pair.a, vector: va }, { text: pair.b, vector: vb }, threshold);
}
