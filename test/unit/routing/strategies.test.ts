import { describe, expect, it } from 'vitest';
import { Catalog } from '../../../src/config/catalog.ts';
import { ConfigError, validateConfig } from '../../../src/config/load-config.ts';
import type { CostRoute, SemanticRoute } from '../../../src/config/types.ts';
import { preferFirst, preferredClusterName } from '../../../src/envoy/chains.ts';
import { renderClusters } from '../../../src/envoy/clusters.ts';
import { renderRoutes } from '../../../src/envoy/routes.ts';
import type { RouteCandidate } from '../../../src/pipeline/context.ts';
import { DEFAULT_PRICING_PATH, PriceTable } from '../../../src/pricing/price-table.ts';
import { answerContent, escalationReason, requestedSchema, validatorRejects } from '../../../src/routing/cascade.ts';
import { chooseCheapest, type CostRequest } from '../../../src/routing/cost.ts';
import { LatencyTracker } from '../../../src/routing/latency.ts';
import { lastUserText, SemanticRouter } from '../../../src/routing/semantic.ts';

const prices = PriceTable.load(DEFAULT_PRICING_PATH);
const orgs = { acme: { teams: { t: { apps: { a: {} } } } } };
const providers = {
  us: { type: 'openai', base_url: 'http://127.0.0.1:9001/v1', region: 'us' },
  eu: { type: 'openai', base_url: 'http://127.0.0.1:9002/v1', region: 'eu' },
  gem: { type: 'gemini', base_url: 'http://127.0.0.1:9003/v1beta', region: 'us' },
};

describe('cost routing', () => {
  const config = validateConfig({
    providers,
    models: {
      large: { provider: 'us', upstream_model: 'gpt-4o', quality_tier: 3, capabilities: ['tools', 'vision'], context_window: 128_000 },
      mini: { provider: 'eu', upstream_model: 'gpt-4o-mini', quality_tier: 1, capabilities: ['tools'], context_window: 128_000 },
      flash: { provider: 'gem', upstream_model: 'gemini-1.5-flash', quality_tier: 2, capabilities: ['tools', 'vision'], context_window: 1_000_000 },
      unpriced: { provider: 'us', upstream_model: 'my-finetune', quality_tier: 3, capabilities: ['tools', 'vision'] },
      cheapest: { route: { strategy: 'cost', models: ['large', 'mini', 'flash', 'unpriced'] } },
    },
    orgs,
  });
  const catalog = new Catalog(config);
  const members = (['large', 'mini', 'flash', 'unpriced'] as const).map((name) => ({ name, config: config.models[name]!, candidates: catalog.candidates(name) }));
  const route = (extra: Partial<CostRoute> = {}): CostRoute => ({ ...(config.models.cheapest!.route as CostRoute), ...extra });
  const request = (extra: Partial<CostRequest> = {}): CostRequest => ({ needs: [], contextNeeded: 100, promptTokens: 500, outputTokens: 256, at: Date.now(), ...extra });
  const everyone = () => true;
  const pick = (r: CostRoute, q: CostRequest, allowed: (c: RouteCandidate) => boolean = everyone) => {
    const choice = chooseCheapest(r, members, allowed, prices, q);
    return 'model' in choice ? choice.model : choice.none;
  };

  it('fills the default output assumption at load', () => {
    expect(route().expected_output_tokens).toBe(256);
  });

  it('picks the cheapest priced model (gemini-1.5-flash < gpt-4o-mini < gpt-4o), never an unpriced one', () => {
    expect(pick(route(), request())).toBe('flash');
  });

  it('never picks an ineligible model: excluded, below the tier, outside the region, missing a capability, too small a window', () => {
    expect(pick(route(), request(), (c) => c.provider !== 'gem')).toBe('mini');
    expect(pick(route({ min_quality_tier: 3 }), request())).toBe('large');
    expect(pick(route({ region: 'eu' }), request())).toBe('mini');
    expect(pick(route(), request({ needs: ['vision'] }), (c) => c.provider !== 'gem')).toBe('large');
    expect(pick(route({ min_context_window: 200_000 }), request())).toBe('flash');
    expect(pick(route(), request({ contextNeeded: 200_000 }), (c) => c.provider !== 'gem')).toEqual(expect.arrayContaining([expect.stringContaining('too small')]));
  });

  it('says why nothing is eligible', () => {
    const none = pick(route({ region: 'eu' }), request({ needs: ['vision'] }));
    expect(none).toEqual(expect.arrayContaining(['mini on eu: does not declare vision', 'large on us: not in region eu']));
  });

  it('a capability counts only when declared', () => {
    expect(pick(route({ capabilities: ['vision'] }), request(), (c) => c.model === 'my-finetune' || c.model === 'gpt-4o-mini')).toEqual(expect.any(Array));
  });

  it('weighs input against output prices by the request', () => {
    // gpt-4o-mini 0.15 / 0.60 and gemini-1.5-flash 0.075 / 0.30 per 1M: flash is cheaper, until a prompt over
    // 128k tokens puts it in its long-context tier (0.15 / 0.60): a tie, which the route's order breaks.
    expect(pick(route(), request({ promptTokens: 100_000 }))).toBe('flash');
    expect(pick(route(), request({ promptTokens: 130_000 }))).toBe('mini');
  });
});

describe('latency tracker', () => {
  it('tries an unmeasured deployment first, then prefers the lowest average', () => {
    const tracker = new LatencyTracker();
    const never = () => 0.99;
    expect(tracker.choose('m', ['a', 'b'], 0.1, never)).toBe(0);
    tracker.record('m', 'a', 200);
    expect(tracker.choose('m', ['a', 'b'], 0.1, never)).toBe(1);
    tracker.record('m', 'b', 20);
    expect(tracker.choose('m', ['a', 'b'], 0.1, never)).toBe(1);
    // Averages are per model.
    expect(tracker.choose('other', ['a', 'b'], 0.1, never)).toBe(0);
  });

  it('explores with the configured probability, and a failure drops a deployment behind every answer seen', () => {
    const tracker = new LatencyTracker();
    tracker.record('m', 'a', 10);
    tracker.record('m', 'b', 300);
    const rolls = [0.05, 0.9];
    expect(tracker.choose('m', ['a', 'b'], 0.1, () => rolls.shift() as number)).toBe(1);
    tracker.recordFailure('m', 'a', 5);
    expect(tracker.average('m', 'a')).toBeGreaterThan(300);
    expect(tracker.choose('m', ['a', 'b'], 0, () => 0.5)).toBe(1);
  });

  it('moves towards new samples (EWMA): a recovered deployment wins back within a few answers', () => {
    const tracker = new LatencyTracker();
    tracker.record('m', 'a', 500);
    tracker.record('m', 'b', 100);
    let samples = 0;
    while (tracker.choose('m', ['a', 'b'], 0, () => 0.5) === 1) {
      tracker.record('m', 'a', 10);
      samples++;
    }
    expect(samples).toBeGreaterThan(1);
    expect(samples).toBeLessThanOrEqual(6);
  });
});

describe('latency-aware clusters', () => {
  const config = validateConfig({
    providers,
    models: {
      fast: { targets: [{ provider: 'us', model: 'gpt-4o', priority: 0 }, { provider: 'eu', model: 'gpt-4o', priority: 0 }, { provider: 'gem', model: 'gemini-1.5-pro' }], load_balancing: { policy: 'latency' } },
      plain: { targets: [{ provider: 'us', model: 'gpt-4o' }, { provider: 'eu', model: 'gpt-4o' }] },
    },
    orgs,
  });

  it('puts the preferred target alone first and keeps the others as fallbacks in their order', () => {
    const targets = config.models.fast!.targets;
    expect(preferFirst(targets, 0b111, 1).map((t) => [t.provider, t.priority])).toEqual([['eu', 0], ['us', 1], ['gem', 3]]);
    expect(preferFirst(targets, 0b101, 2).map((t) => [t.provider, t.priority])).toEqual([['gem', 0], ['us', 1]]);
  });

  it('renders a preferred-first cluster and route per target of each subset, only for latency-aware models', () => {
    const clusters = renderClusters(config, { dir: 'envoy' }) as Array<{ name: string; load_assignment: { endpoints: Array<{ priority: number; lb_endpoints: Array<{ metadata: unknown }> }> } }>;
    const viaEu = clusters.find((c) => c.name === preferredClusterName('fast', 0b111, 1));
    expect(viaEu?.load_assignment.endpoints.map((e) => [e.priority, JSON.stringify(e.lb_endpoints[0]?.metadata).match(/"provider":"(\w+)"/)?.[1]]))
      .toEqual([[0, 'eu'], [1, 'us'], [2, 'gem']]);
    // A subset never holds an excluded target: the 0b011 subset's clusters have us and eu only.
    const viaUs = clusters.find((c) => c.name === preferredClusterName('fast', 0b011, 0));
    expect(viaUs?.load_assignment.endpoints.length).toBe(2);
    expect(clusters.filter((c) => c.name.includes('_via')).length).toBe(3 * 2 + 3);
    const routeNames = (renderRoutes(config).virtual_hosts[0]?.routes as Array<{ name: string }>).map((r) => r.name);
    expect(routeNames).toContain(preferredClusterName('fast', 0b101, 2));
    expect(routeNames.filter((name) => name.startsWith('chain_plain') && name.includes('_via'))).toEqual([]);
  });
});

describe('semantic routing', () => {
  /** Vectors by keyword, so similarity is known: code texts point one way, geography another. */
  const embedder = (delayMs = 0) => ({
    calls: 0,
    async embed(text: string) {
      this.calls++;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const v = /python|sql|bug/i.test(text) ? [1, 0.1] : /capital|river/i.test(text) ? [0.1, 1] : [0.6, 0.6];
      const n = Math.hypot(v[0]!, v[1]!);
      return Float32Array.from(v.map((x) => x / n));
    },
  });
  const route: SemanticRoute = {
    strategy: 'semantic', default: 'general', threshold: 0.9, timeout_ms: 50,
    routes: [{ model: 'coder', examples: ['Write Python', 'Fix this bug'] }, { model: 'geo', examples: ['What is the capital of Peru?'] }],
  };

  it('routes by the most similar examples, else the default, among the eligible models; examples embedded once', async () => {
    const e = embedder();
    const router = new SemanticRouter(e);
    expect(await router.choose(route, 'A SQL question', () => true)).toEqual({ model: 'coder', reason: 'similar' });
    expect(await router.choose(route, 'Which river is longest?', () => true)).toEqual({ model: 'geo', reason: 'similar' });
    expect(await router.choose(route, 'Tell me a joke', () => true)).toEqual({ model: 'general', reason: 'default' });
    expect(await router.choose(route, 'A SQL question', (m) => m !== 'coder')).toEqual({ model: 'general', reason: 'default' });
    expect(e.calls).toBe(3 + 4);
  });

  it('falls back to the default when the embedding is late or fails', async () => {
    expect(await new SemanticRouter(embedder(200)).choose(route, 'A SQL question', () => true)).toEqual({ model: 'general', reason: 'fallback' });
    const failing = { embed: async () => { throw new Error('down'); } };
    expect(await new SemanticRouter(failing).choose(route, 'A SQL question', () => true)).toEqual({ model: 'general', reason: 'fallback' });
  });

  it('reads the last user message', () => {
    expect(lastUserText({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: [{ type: 'text', text: 'c' }, { type: 'image_url' }] }] })).toBe('c\n');
    expect(lastUserText({})).toBe('');
  });
});

describe('route config', () => {
  // Validation fills defaults in place: every attempt gets its own copy.
  const attempt = (models: Record<string, unknown>, extra: Record<string, unknown> = {}) => () => validateConfig(structuredClone({ providers, models, orgs, ...extra }));

  it('rejects unknown or virtual members, semantic routing without an embedding model, and a timeout past Envoy\'s', () => {
    expect(attempt({ v: { route: { strategy: 'cost', models: ['nope'] } } })).toThrow(/models\.v\.route\.models\.0: unknown model "nope"/);
    expect(attempt({ a: { provider: 'us' }, v: { route: { strategy: 'cost', models: ['a'] } }, w: { route: { strategy: 'cost', models: ['v'] } } })).toThrow(/"v" is itself a virtual model/);
    expect(attempt({ a: { provider: 'us' }, v: { route: { strategy: 'semantic', routes: [{ model: 'a', examples: ['x'] }], default: 'a' } } })).toThrow(ConfigError);
    const withEmbeddings = { cache: { embeddings_model: 'e' }, envoy: { message_timeout_ms: 100 } };
    const models = { a: { provider: 'us' }, e: { provider: 'us', kind: 'embeddings', upstream_model: 'text-embedding-3-small' } };
    expect(attempt({ ...models, v: { route: { strategy: 'semantic', routes: [{ model: 'a', examples: ['x'] }], default: 'a' } } }, withEmbeddings)).toThrow(/timeout_ms: must be below envoy.message_timeout_ms/);
    expect(attempt({ ...models, v: { route: { strategy: 'semantic', routes: [{ model: 'a', examples: ['x'] }], default: 'a', timeout_ms: 50 } } }, withEmbeddings)()).toBeTruthy();
  });
});

describe('cascade escalation', () => {
  const answer = (message: Record<string, unknown>, finish = 'stop') =>
    Buffer.from(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, finish_reason: finish, message: { role: 'assistant', ...message } }] }));
  const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };

  it('escalates refusals: the refusal field, a content filter stop, or a content that opens like one', () => {
    expect(escalationReason(answer({ content: null, refusal: 'I cannot do that.' }), ['refusal'], null)).toBe('refusal');
    expect(escalationReason(answer({ content: '' }, 'content_filter'), ['refusal'], null)).toBe('refusal');
    for (const text of ["I'm sorry, but I can't help with that.", 'I cannot assist with this request.', 'I am unable to do that.', 'Sorry, but I won\'t.']) {
      expect(escalationReason(answer({ content: text }), ['refusal'], null), text).toBe('refusal');
    }
    expect(escalationReason(answer({ content: 'The answer is 4. I am sorry it took long.' }), ['refusal'], null)).toBeNull();
    // Not a declared signal: delivered.
    expect(escalationReason(answer({ content: "I'm sorry, no." }), ['json_schema'], null)).toBeNull();
  });

  it('escalates an answer that is not JSON valid for the requested schema, only when a schema was requested', () => {
    expect(escalationReason(answer({ content: '{"answer": 4}' }), ['json_schema'], schema)).toBeNull();
    expect(escalationReason(answer({ content: '{"answer": "four"}' }), ['json_schema'], schema)).toBe('json_schema');
    expect(escalationReason(answer({ content: 'four' }), ['json_schema'], schema)).toBe('json_schema');
    expect(escalationReason(answer({ content: 'four' }), ['json_schema'], null)).toBeNull();
    // A schema Ajv cannot compile, or a body that is not a completion, is no signal.
    expect(escalationReason(answer({ content: 'x' }), ['json_schema'], { type: 'no-such-type' })).toBeNull();
    expect(escalationReason(Buffer.from('not json'), ['refusal', 'json_schema'], schema)).toBeNull();
  });

  it('escalates an answer whose mean token logprob is below the threshold, when it carries logprobs', () => {
    const withLogprobs = (values: number[]) => Buffer.from(JSON.stringify({
      choices: [{ finish_reason: 'stop', message: { role: 'assistant', content: 'x' }, logprobs: { content: values.map((logprob) => ({ token: 'x', logprob })) } }],
    }));
    expect(escalationReason(withLogprobs([-0.1, -0.3]), ['logprob'], null, -1)).toBeNull();
    expect(escalationReason(withLogprobs([-0.1, -3.5]), ['logprob'], null, -1)).toBe('logprob');
    expect(escalationReason(answer({ content: 'x' }), ['logprob'], null, -1)).toBeNull();
  });

  it('asks the validator, and delivers when it fails or is late', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const { content } = JSON.parse(raw) as { content: string };
        if (content === 'late') setTimeout(() => res.end('{"pass":false}'), 300);
        else if (content === 'broken') res.writeHead(500).end();
        else res.end(JSON.stringify({ pass: content === 'good' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      expect(await validatorRejects({ url, timeout_ms: 100 }, 'm', 'good')).toBe(false);
      expect(await validatorRejects({ url, timeout_ms: 100 }, 'm', 'bad')).toBe(true);
      expect(await validatorRejects({ url, timeout_ms: 100 }, 'm', 'late')).toBe(false);
      expect(await validatorRejects({ url, timeout_ms: 100 }, 'm', 'broken')).toBe(false);
      expect(answerContent(answer({ content: 'hello' }))).toBe('hello');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('reads the schema a request asks for', () => {
    expect(requestedSchema({ response_format: { type: 'json_schema', json_schema: { name: 'r', schema } } })).toEqual(schema);
    expect(requestedSchema({ response_format: { type: 'json_object' } })).toBeNull();
    expect(requestedSchema({})).toBeNull();
  });

  it('needs two steps, and asks each step once', () => {
    const build = (models: Record<string, unknown>) => () => validateConfig(structuredClone({ providers, models, orgs }));
    expect(build({ c: { targets: [{ provider: 'us', model: 'gpt-4o' }], cascade: { escalate_on: ['refusal'] } } })).toThrow(/at least two priorities/);
    const two = [{ provider: 'us', model: 'gpt-4o-mini' }, { provider: 'eu', model: 'gpt-4o' }];
    expect(build({ c: { targets: two, cascade: { escalate_on: ['validator'] } } })).toThrow(/validator signal needs the validator's url/);
    expect(build({ c: { targets: two, cascade: { escalate_on: ['logprob'] } } })).toThrow(/logprob signal needs a threshold/);
    const config = build({ c: { targets: [{ provider: 'us', model: 'gpt-4o-mini' }, { provider: 'eu', model: 'gpt-4o' }], cascade: { escalate_on: ['refusal'] }, retries: { max: 3 } } })();
    expect(config.models.c?.retries?.max).toBe(0);
    const steps = (renderClusters(config, { dir: 'envoy' }) as Array<{ name: string; load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ metadata: { filter_metadata: { tollgate: Record<string, unknown> } } }> }> } }>)
      .find((c) => c.name.startsWith('chain_c_'))?.load_assignment.endpoints.map((e) => e.lb_endpoints[0]?.metadata.filter_metadata.tollgate.cascade);
    expect(steps).toEqual(['c', undefined]);
  });
});
