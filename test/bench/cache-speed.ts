/**
 * Speed of the cache, all measured in one run on this machine:
 *  - exact hit through Envoy + Tollgate (answered as an immediate response, no provider call) against bare Envoy
 *    proxying the same request to a zero-latency fake provider, open-loop at the same rate (lib/paced-load.ts);
 *  - semantic hit through Envoy + Tollgate (a paraphrase: exact miss, embedding, nearest neighbour, checks);
 *  - the semantic lookup alone, in process: without the embedding call (reading a namespace of N stored
 *    questions from the memory and the Redis backend, scanning and checking them) and with it (the real
 *    all-MiniLM-L6-v2 through the provider layer's embeddings client).
 *
 *   node_modules/.bin/node test/bench/cache-speed.ts      → test/bench/results/cache-speed.json
 *   BENCH_SECONDS=10 BENCH_RPS=200 BENCH_SEMANTIC_RPS=10 BENCH_OUT=FILE   (all optional)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { ProviderEmbedder, normalize } from '../../src/cache/embeddings-client.ts';
import { MemoryCacheBackend } from '../../src/cache/memory-backend.ts';
import { textFeatures } from '../../src/cache/near-miss.ts';
import { RedisCacheBackend } from '../../src/cache/redis-backend.ts';
import { bestMatch } from '../../src/cache/semantic-index.ts';
import type { CacheBackend } from '../../src/cache/cache-backend.ts';
import { ConfigHolder } from '../../src/config/config-holder.ts';
import { validateConfig } from '../../src/config/load-config.ts';
import { CredentialResolver } from '../../src/providers/credentials.ts';
import { EMBEDDING_MODEL, startEmbeddingServer } from '../helpers/embedding-server.ts';
import { freePort } from '../helpers/free-port.ts';
import { createPool, runPacedLoad } from './lib/paced-load.ts';
import { difference, pick, summarize } from './lib/percentiles.ts';
import { startRedisProcess } from './lib/redis-process.ts';
import { machineInfo, versions } from './lib/run-info.ts';
import { ProcessGroup, startEnvoyAt, startFakeProvider, startTollgateServe, writeBareEnvoyConfig } from './lib/processes.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RPS = Number(process.env.BENCH_RPS ?? 200);
const SEMANTIC_RPS = Number(process.env.BENCH_SEMANTIC_RPS ?? 10);
const PROVIDER_KEY = 'sk-bench-provider';
const VIRTUAL_KEY = 'tg-bench-cache-key';
const MODEL = 'gpt-4o-mini';
const PATH = '/v1/chat/completions';
const json = { 'content-type': 'application/json' };
const body = (content: string) => JSON.stringify({ model: MODEL, temperature: 0, messages: [{ role: 'user', content }] });
const CACHED_QUESTIONS = ['What is the capital city of France?', 'How do I reverse a list in Python?', 'Explain how a hash table works.'];
const PARAPHRASES = ['Tell me the capital of France.', "What's the way to reverse a Python list?", 'How does a hash table work?'];

function tollgateConfig(options: { listenerPort: number; envoyAdminPort: number; extprocPort: number; adminPort: number; envoyDir: string; fakeUrl: string; embeddingsUrl: string }) {
  return {
    listener: { address: '127.0.0.1', port: options.listenerPort },
    envoy: { admin: { address: '127.0.0.1', port: options.envoyAdminPort }, config_dir: options.envoyDir },
    extproc: { address: '127.0.0.1', port: options.extprocPort },
    admin: { address: '127.0.0.1', port: options.adminPort, token_env: 'BENCH_ADMIN_TOKEN' },
    store: { type: 'memory' },
    logging: { level: 'warn' },
    providers: {
      openai: { type: 'openai', base_url: options.fakeUrl, api_key_env: 'BENCH_PROVIDER_KEY' },
      local: { type: 'openai', base_url: options.embeddingsUrl },
    },
    models: { [MODEL]: { provider: 'openai', kind: 'chat' }, minilm: { provider: 'local', kind: 'embeddings', upstream_model: EMBEDDING_MODEL } },
    orgs: { bench: { teams: { perf: { apps: { loadgen: {} } } } } },
    keys: [{ key_env: 'BENCH_VIRTUAL_KEY', org: 'bench', team: 'perf', app: 'loadgen', name: 'bench' }],
    cache: { embeddings_model: 'minilm', defaults: { semantic_threshold: 0.7 } },
  };
}

/** Time of one semantic lookup without the embedding: read the namespace, scan, check (ms, per call). */
async function lookupCost(backend: CacheBackend, records: number, query: Float32Array): Promise<{ records: number; p50: number; p90: number; p99: number }> {
  const namespace = `bench-${records}`;
  const features = textFeatures('What is the capital city of France?');
  for (let i = 0; i < records; i++) {
    const vector = normalize(Float32Array.from({ length: 384 }, () => Math.random() - 0.5));
    await backend.put(`${namespace}-${i}`, { kind: 'json', body: '{}', usage: null, provider: 'p', storedAt: Date.now(), expiresAt: Date.now() + 600_000, staleUntil: Date.now() + 600_000 },
      { namespace, record: { key: `${namespace}-${i}`, vector, features } });
  }
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    bestMatch(await backend.semanticRecords(namespace), query, features, 0.7);
    times.push(performance.now() - started);
  }
  return { records, ...pick(summarize(times.slice(20))) };
}

async function main(): Promise<void> {
  const group = new ProcessGroup();
  const dir = await mkdtemp(join(os.tmpdir(), 'tollgate-bench-cache-'));
  const pools: ReturnType<typeof createPool>[] = [];
  try {
    const fake = group.add(await startFakeProvider(projectRoot, PROVIDER_KEY));
    const fakeUrl = new URL(fake.url);
    const embeddings = await startEmbeddingServer();
    group.add(embeddings);

    const [bareListenerPort, bareAdminPort] = [await freePort(), await freePort()];
    const bareConfigPath = join(dir, 'bare-envoy.yaml');
    await writeBareEnvoyConfig(bareConfigPath, {
      listenerPort: bareListenerPort, adminPort: bareAdminPort, upstreamHost: fakeUrl.hostname, upstreamPort: Number(fakeUrl.port), bufferLimitBytes: 32 * 1024 * 1024,
    });
    group.add(await startEnvoyAt(projectRoot, bareConfigPath, bareAdminPort));

    const ports = { listenerPort: await freePort(), envoyAdminPort: await freePort(), extprocPort: await freePort(), adminPort: await freePort() };
    const envoyDir = join(dir, 'envoy');
    const configPath = join(dir, 'tollgate.yaml');
    const config = tollgateConfig({ ...ports, envoyDir, fakeUrl: fake.url, embeddingsUrl: embeddings.url });
    await writeFile(configPath, stringify(config));
    group.add(await startTollgateServe({
      projectRoot, configPath, adminUrl: `http://127.0.0.1:${ports.adminPort}`, logFile: join(dir, 'tollgate.log'),
      env: { ...process.env, BENCH_PROVIDER_KEY: PROVIDER_KEY, BENCH_VIRTUAL_KEY: VIRTUAL_KEY, BENCH_ADMIN_TOKEN: 'bench-admin' },
    }));
    group.add(await startEnvoyAt(projectRoot, join(envoyDir, 'envoy.yaml'), ports.envoyAdminPort));

    const bare = createPool(`http://127.0.0.1:${bareListenerPort}`);
    const gateway = createPool(`http://127.0.0.1:${ports.listenerPort}`);
    pools.push(bare, gateway);
    const gatewayHeaders = { ...json, authorization: `Bearer ${VIRTUAL_KEY}` };
    // Fill the cache, and check that the second ask is a hit.
    for (const question of CACHED_QUESTIONS) {
      for (let i = 0; i < 2; i++) {
        const response = await gateway.request({ path: PATH, method: 'POST', headers: gatewayHeaders, body: body(question) });
        await response.body.text();
        if (i === 1 && response.headers['x-tollgate-cache'] !== 'hit') throw new Error(`expected a hit, got ${String(response.headers['x-tollgate-cache'])}`);
      }
    }
    const paraphraseCheck = await gateway.request({ path: PATH, method: 'POST', headers: gatewayHeaders, body: body(PARAPHRASES[0] as string) });
    await paraphraseCheck.body.text();
    if (paraphraseCheck.headers['x-tollgate-cache-match'] !== 'semantic') throw new Error('the paraphrase was not a semantic hit');

    const load = async (pool: typeof bare, headers: Record<string, string>, rps: number, bodyFor: (i: number) => string) => {
      await runPacedLoad(pool, { path: PATH, headers, bodyFor, rps, durationMs: 2000 });
      const result = await runPacedLoad(pool, { path: PATH, headers, bodyFor, rps, durationMs: SECONDS * 1000 });
      return { ok: result.ok, scheduled: result.scheduled, statuses: result.statuses, latency_ms: pick(result.latency) };
    };
    const exactBody = () => body(CACHED_QUESTIONS[0] as string);
    const bareRun = await load(bare, { ...json, authorization: `Bearer ${PROVIDER_KEY}` }, RPS, exactBody);
    const hitRun = await load(gateway, gatewayHeaders, RPS, exactBody);
    const semanticRun = await load(gateway, gatewayHeaders, SEMANTIC_RPS, (i) => body(PARAPHRASES[i % PARAPHRASES.length] as string));
    const bareAtSemanticRate = await load(bare, { ...json, authorization: `Bearer ${PROVIDER_KEY}` }, SEMANTIC_RPS, exactBody);

    // The lookup alone, in process.
    const holder = new ConfigHolder(validateConfig(structuredClone(config)));
    const embedder = new ProviderEmbedder({ config: holder, credentials: new CredentialResolver({ env: {} }) });
    const embedTimes: number[] = [];
    let query: Float32Array = new Float32Array(384);
    for (let i = 0; i < 60; i++) {
      const started = performance.now();
      query = (await embedder.embed(PARAPHRASES[i % PARAPHRASES.length] as string)) ?? query;
      embedTimes.push(performance.now() - started);
    }
    const embedding = pick(summarize(embedTimes.slice(10)));
    const memory = new MemoryCacheBackend({ maxEntries: 100_000, maxBytes: 512 * 1024 * 1024, maxRecordsPerNamespace: 2000 });
    const redisServer = group.add(await startRedisProcess());
    const redisClient = new Redis(redisServer.url);
    const redis = new RedisCacheBackend(redisClient, { maxEntries: 100_000, maxBytes: 512 * 1024 * 1024, maxRecordsPerNamespace: 2000 });
    const sizes = [10, 100, 1000];
    const memoryCost = [];
    const redisCost = [];
    for (const size of sizes) memoryCost.push(await lookupCost(memory, size, query));
    for (const size of sizes) redisCost.push(await lookupCost(redis, size, query));
    await redisClient.quit();

    const result = {
      measured_at: new Date().toISOString(),
      machine: machineInfo(),
      versions: versions(projectRoot),
      seconds: SECONDS,
      exact_hit: {
        rps: RPS,
        bare_envoy_to_fake: bareRun,
        envoy_tollgate_cache_hit: hitRun,
        added_ms: difference(hitRun.latency_ms, bareRun.latency_ms),
        note: 'same request body, same rate, open-loop; the hit never reaches the provider, bare Envoy always does',
      },
      semantic_hit: {
        rps: SEMANTIC_RPS,
        bare_envoy_to_fake: bareAtSemanticRate,
        envoy_tollgate_semantic_hit: semanticRun,
        added_ms: difference(semanticRun.latency_ms, bareAtSemanticRate.latency_ms),
        note: 'paraphrases of cached questions: exact miss, embedding call, nearest neighbour and checks, then the cached answer',
      },
      semantic_lookup_ms: {
        embedding_call: { model: EMBEDDING_MODEL, ...embedding, note: 'all-MiniLM-L6-v2 on numpy, local server, through ProviderEmbedder' },
        without_embedding: { memory: memoryCost, redis: redisCost, note: 'read the namespace (records = stored questions), scan, near-miss checks' },
      },
    };
    const out = process.env.BENCH_OUT ?? resolve(projectRoot, 'test/bench/results/cache-speed.json');
    mkdirSync(resolve(projectRoot, 'test/bench/results'), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
