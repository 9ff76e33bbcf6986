/**
 * Routing decision cost (issue 16): µs of CPU per request for each routing strategy, in process, the stages as the
 * gateway runs them (capabilities, then route) on a realistic context. Per strategy: the capability stage and the
 * route stage's onRequest together, measured over ITERATIONS requests after a warm-up, p50/p99/mean in µs.
 *
 *   one provider            the route stage translates here (OpenAI passthrough) and names the retry route
 *   chain (fallback)        subset mask → chain cluster name; Envoy does retries and fallback
 *   balanced (weights)      same as a chain for Tollgate: the weights live in Envoy
 *   sticky by user          + the affinity header
 *   capabilities, plain     declared capabilities, a plain request: every candidate stays
 *   capabilities, tools     the local candidate is excluded, the chain subset chosen
 *   capabilities, context   a prompt longer than the smallest window: the tokenizer counts it (a text seen before
 *                           is remembered, as in the quota estimate; a new text each time pays the tokenizer)
 *   latency                 the EWMA choice among three measured deployments + the preferred-first cluster name
 *   cost                    resolve's union of four member models' targets + the cheapest eligible by price table
 *   semantic                resolve's union + cosine against 9 example vectors (384 dimensions, MiniLM's size);
 *                           the embedding call itself is a stub that answers at once: its network time (one
 *                           embeddings request to the cache's model, ~5-15 ms on CPU for MiniLM) is not Tollgate CPU
 *
 *   node_modules/.bin/node test/bench/routing.ts      → test/bench/results/routing.json
 *
 * Env: BENCH_ITERATIONS=20000, BENCH_OUT=FILE
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { ConfigHolder } from '../../src/config/config-holder.ts';
import { validateConfig } from '../../src/config/load-config.ts';
import { UpstreamEdits, type RequestContext } from '../../src/pipeline/context.ts';
import { CredentialResolver } from '../../src/providers/credentials.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../../src/pricing/price-table.ts';
import { LatencyTracker } from '../../src/routing/latency.ts';
import { capabilitiesStage } from '../../src/stages/capabilities.ts';
import { resolveStage } from '../../src/stages/resolve.ts';
import { routeStage } from '../../src/stages/route.ts';
import { AttemptLog } from '../../src/upstream/attempt-log.ts';
import { summarize } from './lib/percentiles.ts';
import { commandLine, machineInfo, versions } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const OUT = process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/routing.json');

const config = validateConfig({
  providers: {
    local: { type: 'openai', base_url: 'http://10.0.0.5:8000/v1' },
    east: { type: 'openai', base_url: 'http://10.0.0.6:8000/v1', api_key_env: 'BENCH_KEY' },
    west: { type: 'openai', base_url: 'http://10.0.0.7:8000/v1', api_key_env: 'BENCH_KEY' },
  },
  models: {
    solo: { provider: 'east', upstream_model: 'gpt-4o-mini' },
    chain: { targets: [{ provider: 'east', model: 'gpt-4o' }, { provider: 'west', model: 'gpt-4o' }] },
    balanced: { targets: [{ provider: 'east', model: 'gpt-4o', priority: 0, weight: 3 }, { provider: 'west', model: 'gpt-4o', priority: 0, weight: 1 }, { provider: 'local', model: 'llama' }] },
    sticky: { targets: [{ provider: 'east', model: 'gpt-4o', priority: 0 }, { provider: 'west', model: 'gpt-4o', priority: 0 }], load_balancing: { sticky: 'user' } },
    capable: {
      targets: [
        { provider: 'local', model: 'llama', capabilities: [], context_window: 400 },
        { provider: 'east', model: 'gpt-4o', capabilities: ['tools', 'vision', 'json_schema'], context_window: 128_000 },
        { provider: 'west', model: 'gpt-4o', capabilities: ['tools', 'vision', 'json_schema'], context_window: 128_000 },
      ],
    },
    fastest: {
      targets: [{ provider: 'east', model: 'gpt-4o', priority: 0 }, { provider: 'west', model: 'gpt-4o', priority: 0 }, { provider: 'local', model: 'llama', priority: 0 }],
      load_balancing: { policy: 'latency' },
    },
    large: { provider: 'east', upstream_model: 'gpt-4o', quality_tier: 3, capabilities: ['tools', 'vision', 'json_schema'], context_window: 128_000 },
    medium: { provider: 'west', upstream_model: 'gpt-4.1-mini', quality_tier: 2, capabilities: ['tools', 'json_schema'], context_window: 1_000_000 },
    small: { provider: 'east', upstream_model: 'gpt-4o-mini', quality_tier: 1, capabilities: ['tools', 'json_schema'], context_window: 128_000 },
    nano: { provider: 'west', upstream_model: 'gpt-4.1-nano', quality_tier: 1, capabilities: ['json_schema'], context_window: 1_000_000 },
    cheapest: { route: { strategy: 'cost', models: ['large', 'medium', 'small', 'nano'], min_quality_tier: 1, capabilities: ['tools'] } },
    topical: {
      route: {
        strategy: 'semantic', default: 'small', threshold: 0.5,
        routes: ['large', 'medium', 'nano'].map((model) => ({ model, examples: [`${model} one`, `${model} two`, `${model} three`] })),
      },
    },
    embed: { provider: 'east', kind: 'embeddings', upstream_model: 'text-embedding-3-small' },
  },
  cache: { embeddings_model: 'embed' },
  orgs: { acme: { teams: { t: { apps: { a: {} } } } } },
});
const holder = new ConfigHolder(config);
const credentials = new CredentialResolver({ env: { BENCH_KEY: 'sk-bench' } });
const capabilities = capabilitiesStage();
const resolveModel = resolveStage({ config: holder });
const latency = new LatencyTracker();
for (const [provider, ms] of [['east', 900], ['west', 400], ['local', 650]] as const) latency.record('fastest', provider, ms);
/** A stub embedder: a fixed unit vector per text, answered at once (MiniLM's 384 dimensions). */
const vectors = new Map<string, Float32Array>();
const embedder = {
  embed: (text: string) => {
    let vector = vectors.get(text);
    if (!vector) {
      vector = Float32Array.from({ length: 384 }, (_, i) => Math.sin(i * (text.length + 1)));
      const norm = Math.hypot(...vector);
      for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
      vectors.set(text, vector);
    }
    return Promise.resolve(vector);
  },
};
const route = routeStage({
  config: holder, credentials, attempts: new AttemptLog(), prices: PriceTable.load(DEFAULT_PRICING_PATH), embedder, latency,
});
const logger = pino({ level: 'silent' });

/** A typical chat body (the benchmarks' 296-byte one, roughly): system + user message. */
const plain = {
  messages: [
    { role: 'system', content: 'You are a helpful assistant that answers briefly and precisely.' },
    { role: 'user', content: 'Summarise the main causes of the French revolution in three short bullet points, please.' },
  ],
  max_tokens: 128,
};
const withTools = { ...plain, tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }] };
// Different text each time would measure the tokenizer, not routing; the prompt is long enough to need counting.
const long = { ...plain, messages: [...plain.messages, { role: 'user', content: 'Please also consider the following notes. '.repeat(20) }] };

function context(model: string, body: Record<string, unknown>): RequestContext {
  const bytes = JSON.stringify(body).length;
  return {
    requestId: 'r', startedAt: 0, now: () => 0, method: 'POST', path: '/v1/chat/completions',
    requestHeaders: new Map([['content-type', 'application/json'], ['user-agent', 'OpenAI/JS 6.0'], ['authorization', 'Bearer x']]),
    log: logger, endpoint: 'chat', tenant: { org: 'acme', team: 't', app: 'a', user: 'user-42', feature: null, keyId: 'k' },
    body: structuredClone(body), bodyBytes: bytes, model, provider: null, upstreamModel: null,
    routing: { alias: null, candidates: [], excludedProviders: new Set(), allowedRegions: null, reasons: [] },
    attempts: [], attemptCount: null, stream: false, upstream: new UpstreamEdits(), responseHeaders: new Map(),
    response: { status: null, streaming: false, bytes: 0 }, usage: null, cachePolicy: 'default', cacheStatus: null, cacheSavedUsage: null,
    cost: null, error: null, outcome: 'pending',
  } as Partial<RequestContext> as RequestContext;
}

const strategies: Array<{ name: string; model: string; body: Record<string, unknown>; expect: string; unique?: boolean; virtual?: boolean }> = [
  { name: 'one provider (translated here, retry route)', model: 'solo', body: plain, expect: 'east' },
  { name: 'chain (fallback cluster)', model: 'chain', body: plain, expect: 'chain_' },
  { name: 'balanced (weights; the policy lives in Envoy)', model: 'balanced', body: plain, expect: 'chain_' },
  { name: 'sticky by user', model: 'sticky', body: plain, expect: 'chain_' },
  { name: 'capabilities: plain request', model: 'capable', body: plain, expect: 'chain_' },
  { name: 'capabilities: tools (local excluded)', model: 'capable', body: withTools, expect: 'chain_' },
  { name: 'capabilities: long prompt, text seen before (cached count)', model: 'capable', body: long, expect: 'chain_' },
  { name: 'capabilities: long prompt, new text each time (tokenizer)', model: 'capable', body: long, expect: 'chain_', unique: true },
  { name: 'latency (EWMA choice, preferred-first cluster)', model: 'fastest', body: plain, expect: 'chain_' },
  { name: 'cost (resolve union of 4 models + cheapest eligible)', model: 'cheapest', body: plain, expect: 'east', virtual: true },
  { name: 'semantic (resolve union + 9 example cosines, stub embedding)', model: 'topical', body: plain, expect: '', virtual: true },
];

const results = [];
for (const strategy of strategies) {
  const catalog = holder.catalog();
  const samples = new Float64Array(ITERATIONS);
  const contexts = Array.from({ length: 256 }, () => context(strategy.model, strategy.body));
  for (let i = 0; i < ITERATIONS + 2000; i++) {
    // Fresh state per request, prepared outside the measured part (the runner builds it anyway).
    const ctx = contexts[i % contexts.length] as RequestContext;
    ctx.routing = { alias: strategy.model, candidates: catalog.candidates(strategy.model), excludedProviders: new Set(), allowedRegions: null, reasons: [] };
    (ctx as { upstream: UpstreamEdits }).upstream = new UpstreamEdits();
    ctx.body = strategy.unique
      ? { ...strategy.body, messages: [...plain.messages, { role: 'user', content: `Request ${i}: ${'please also consider the following notes. '.repeat(20)}` }] }
      : { ...strategy.body };
    (ctx as { responseHeaders: Map<string, string> }).responseHeaders = new Map();
    if (strategy.virtual) ctx.routing.candidates = [];
    const started = process.hrtime.bigint();
    if (strategy.virtual) resolveModel.onRequest?.(ctx);
    capabilities.onRequest?.(ctx);
    const decided = route.onRequest?.(ctx);
    if (decided instanceof Promise) await decided;
    const elapsed = Number(process.hrtime.bigint() - started) / 1000;
    if (i >= 2000) samples[i - 2000] = elapsed;
    if (i === 0) {
      const chosen = ctx.upstream.setHeaders.get('x-tollgate-route') ?? '';
      if (!chosen.startsWith(strategy.expect)) throw new Error(`${strategy.name}: routed to ${chosen}`);
    }
  }
  const summary = summarize(samples);
  const row = { strategy: strategy.name, p50_us: round(summary.p50), p99_us: round(summary.p99), mean_us: round(summary.mean), n: ITERATIONS };
  results.push(row);
  console.log(`${strategy.name.padEnd(58)} p50 ${row.p50_us} µs  p99 ${row.p99_us} µs  mean ${row.mean_us} µs`);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const report = {
  benchmark: 'routing',
  date: new Date().toISOString(),
  command: commandLine(projectRoot),
  machine: machineInfo(),
  versions: versions(projectRoot),
  what: 'capabilities stage + route stage onRequest per request, in process (CPU time of the decision; Envoy then does retries, fallback and balancing); virtual models (cost, semantic) include the resolve stage, which builds the union of their members\' candidates; semantic awaits a stub embedding that answers at once (the embeddings request to the cache\'s model is network time, not counted)',
  strategies: results,
};
await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${OUT}`);
