import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { EMBEDDING_MODEL, startEmbeddingServer, type EmbeddingServer } from '../helpers/embedding-server.ts';
import { ADMIN_TOKEN, PLACEHOLDER_URL, PROVIDER_KEY, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';
import { buildPolicyBundle } from '../helpers/policy-bundle.ts';

const EMBED_KEY = 'sk-local-embeddings';

/** A rule of this test's bundle: a team's requests may never reach the providers data.json lists for it. */
const BLOCKED_PROVIDERS_REGO = `package tollgate.rules.blocked_providers

import data.tollgate.lib

exclude contains {"provider": candidate.provider, "reason": "blocked for this team"} if {
	some candidate in input.candidates
	candidate.provider in object.get(lib.team, "blocked_providers", [])
}
`;

/**
 * The routing strategies through real Envoy with the openai SDK: latency-aware balancing (a slow and a fast
 * deployment), cost routing (the cheapest eligible model from config/pricing.yaml, never an ineligible one),
 * semantic routing (the real MiniLM embedding server; a timeout falls back to the default), and policy in charge:
 * Rego forbids a strategy or picks the model, and a provider policy excluded is never contacted by any strategy.
 *
 * Deployments: east (the harness's fake) serves gpt-4o, west gpt-4o and gpt-4.1-mini, cheap (region eu)
 * gpt-4o-mini, and `blocked` (the cheapest and fastest of all) gpt-4o and gpt-4.1-nano: team `restricted` may
 * never reach it (policy).
 */
describe('routing strategies', () => {
  let h: Harness;
  let west: FakeOpenAI;
  let cheap: FakeOpenAI;
  let blocked: FakeOpenAI;
  let embeddings: EmbeddingServer;
  let dir: string;
  const keys: Record<string, string> = {};
  /** A cascade's validator webhook: rejects answers that mention "Reject", answers "Slow" ones too late. */
  let validator: Server;
  const validated: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-routing-strategies-'));
    const bundle = await buildPolicyBundle({
      data: {
        tenants: {
          defaults: {},
          business_hours: {},
          orgs: {
            acme: {
              teams: {
                restricted: { blocked_providers: ['blocked'] },
                steady: { forbid_strategies: ['latency', 'cost', 'semantic'] },
                pinned: { route_models: { cheapest: 'large' } },
              },
            },
          },
        },
      },
      rego: { 'tollgate/rules/blocked_providers.rego': BLOCKED_PROVIDERS_REGO },
    }, join(dir, 'bundle.tar.gz'));
    validator = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const { content } = JSON.parse(raw) as { content: string };
        validated.push(content);
        const reply = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pass: !content.includes('Reject') }));
        if (content.includes('Slow')) setTimeout(reply, 1000);
        else reply();
      });
    });
    await new Promise<void>((r) => validator.listen(0, '127.0.0.1', r));
    [west, cheap, blocked, embeddings] = await Promise.all([
      startFakeOpenAI({ apiKey: PROVIDER_KEY }),
      startFakeOpenAI({ apiKey: PROVIDER_KEY }),
      startFakeOpenAI({ apiKey: PROVIDER_KEY }),
      startEmbeddingServer({ apiKey: EMBED_KEY }),
    ]);
    process.env.TEST_EMBED_KEY = EMBED_KEY;
    const openai = (url: string, region: string) => ({ type: 'openai', base_url: url, api_key_env: 'TEST_OPENAI_KEY', region });
    const all = ['tools', 'vision', 'json_schema'];
    const codeExamples = [
      'Write a Python function that reverses a linked list.',
      'Fix the bug in this JavaScript function that sorts an array.',
      'How do I write a SQL query that joins two tables?',
    ];
    h = await startHarness({
      config: {
        logging: { level: 'silent' },
        // Failures must not eject endpoints between tests; fallbacks without same-provider retries.
        routing: { outlier: { consecutive_failures: 100 }, retries: { max: 0 } },
        providers: {
          east: openai(PLACEHOLDER_URL, 'us'),
          west: openai(west.url, 'us'),
          cheap: openai(cheap.url, 'eu'),
          blocked: openai(blocked.url, 'us'),
          local: { type: 'openai', base_url: embeddings.url, api_key_env: 'TEST_EMBED_KEY' },
        },
        models: {
          fast: {
            targets: [{ provider: 'east', model: 'gpt-4o', priority: 0 }, { provider: 'west', model: 'gpt-4o', priority: 0 }],
            load_balancing: { policy: 'latency', exploration: 0.1 },
          },
          'fast-any': {
            targets: ['east', 'west', 'blocked'].map((provider) => ({ provider, model: 'gpt-4o', priority: 0 })),
            load_balancing: { policy: 'latency', exploration: 0.1 },
          },
          small: { provider: 'cheap', upstream_model: 'gpt-4o-mini', quality_tier: 1, capabilities: ['json_schema'], context_window: 128_000 },
          medium: { provider: 'west', upstream_model: 'gpt-4.1-mini', quality_tier: 2, capabilities: ['tools', 'json_schema'], context_window: 1_000_000 },
          large: { provider: 'east', upstream_model: 'gpt-4o', quality_tier: 3, capabilities: all, context_window: 128_000 },
          nano: { provider: 'blocked', upstream_model: 'gpt-4.1-nano', quality_tier: 3, capabilities: all, context_window: 1_000_000 },
          cheapest: { route: { strategy: 'cost', models: ['large', 'medium', 'small', 'nano'] } },
          'cheapest-good': { route: { strategy: 'cost', models: ['large', 'medium', 'small', 'nano'], min_quality_tier: 2 } },
          'cheapest-tools': { route: { strategy: 'cost', models: ['large', 'medium', 'small'], capabilities: ['tools'] } },
          'cheapest-us': { route: { strategy: 'cost', models: ['small', 'medium', 'large'], region: 'us' } },
          topical: { route: { strategy: 'semantic', routes: [{ model: 'medium', examples: codeExamples }], default: 'small', threshold: 0.3, timeout_ms: 1900 } },
          'topical-any': { route: { strategy: 'semantic', routes: [{ model: 'nano', examples: codeExamples }], default: 'small', threshold: 0.3, timeout_ms: 1900 } },
          'topical-hurried': { route: { strategy: 'semantic', routes: [{ model: 'medium', examples: codeExamples }], default: 'small', threshold: 0.3, timeout_ms: 1 } },
          minilm: { provider: 'local', kind: 'embeddings', upstream_model: EMBEDDING_MODEL },
          // A cascade: gpt-4o-mini first; gpt-4o when its answer refuses or breaks the requested JSON schema.
          cascaded: {
            targets: [{ provider: 'cheap', model: 'gpt-4o-mini' }, { provider: 'east', model: 'gpt-4o' }],
            cascade: { escalate_on: ['refusal', 'json_schema'] },
          },
          'cascade-via-blocked': {
            targets: [{ provider: 'blocked', model: 'gpt-4.1-nano' }, { provider: 'east', model: 'gpt-4o' }],
            cascade: { escalate_on: ['json_schema'] },
          },
          validated: {
            targets: [{ provider: 'cheap', model: 'gpt-4o-mini' }, { provider: 'east', model: 'gpt-4o' }],
            cascade: { escalate_on: ['validator'], validator: { url: `http://127.0.0.1:${(validator.address() as AddressInfo).port}/check`, timeout_ms: 200 } },
          },
        },
        ledger: { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20 },
        // Generous timeouts: MiniLM on a shared CPU can take a while (the timeout fallback has its own test).
        cache: { embeddings_model: 'minilm', embeddings_timeout_ms: 1900 },
        orgs: {
          acme: {
            teams: {
              platform: { apps: { playground: {} } },
              restricted: { apps: { app: {} } },
              steady: { apps: { app: {} } },
              pinned: { apps: { app: {} } },
            },
          },
        },
        policy: { bundle, audit_log: join(dir, 'audit.jsonl'), watch: false },
      },
    });
    for (const team of ['restricted', 'steady', 'pinned']) keys[team] = await h.createKey(team, 'app');
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await Promise.all([west?.close(), cheap?.close(), blocked?.close(), embeddings?.stop()]);
    await new Promise((r) => validator?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const fake of [h.fake, west, cheap, blocked]) fake.reset();
  });

  const ask = (model: string, options: { key?: string; content?: string; extra?: Record<string, unknown> } = {}) =>
    h.client(options.key ?? h.key, { maxRetries: 0 }).chat.completions
      .create({ model, messages: [{ role: 'user', content: options.content ?? 'Hello routing' }], ...options.extra })
      .withResponse();
  const servedBy = async (model: string, options: Parameters<typeof ask>[1] = {}) => {
    const { response } = await ask(model, options);
    return { provider: response.headers.get('x-tollgate-provider'), model: response.headers.get('x-tollgate-model'), strategy: response.headers.get('x-tollgate-strategy') };
  };
  const chatModels = (fake: FakeOpenAI) => fake.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => (r.body as { model: string }).model);

  describe('latency-aware balancing', () => {
    it('prefers the faster deployment, keeps exploring, and gives a recovered one its traffic back', async () => {
      h.fake.pushFault({ kind: 'delay', ms: 150 }, 1000);
      let east = 0;
      for (let i = 0; i < 40; i++) if ((await servedBy('fast')).provider === 'east') east++;
      // Round robin would give east 20: the fast west gets nearly all, east only the explorations (10 % / 2).
      expect(west.requestCount).toBe(40 - east);
      expect(west.requestCount).toBeGreaterThanOrEqual(32);
      expect(east).toBeGreaterThanOrEqual(1);

      // east recovers, west becomes slower than east ever was: exploration measures east again and it takes over.
      h.fake.reset();
      west.reset();
      west.pushFault({ kind: 'delay', ms: 250 }, 1000);
      const late: string[] = [];
      for (let i = 0; i < 50; i++) {
        const { provider, strategy } = await servedBy('fast');
        expect(strategy).toBe('latency');
        if (i >= 30) late.push(provider as string);
      }
      expect(late.filter((p) => p === 'east').length).toBeGreaterThanOrEqual(16);
      // A stream is measured by its first token, and served by the preferred deployment like any request.
      const stream = await h.client(h.key, { maxRetries: 0 }).chat.completions
        .create({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'Stream please' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text.length).toBeGreaterThan(0);
    }, 60_000);

    it('falls back to the other deployment when the preferred one fails, and stops preferring it', async () => {
      h.fake.pushFault({ kind: 'status', status: 503 }, 1000);
      for (let i = 0; i < 10; i++) expect((await servedBy('fast')).provider).toBe('west');
      // A failure costs the preferred deployment its place: at most the first try and the explorations hit east.
      expect(h.fake.requestCount).toBeLessThanOrEqual(4);
    });
  });

  describe('cost routing', () => {
    it('picks the cheapest model, and the cheapest that meets the quality tier', async () => {
      expect(await servedBy('cheapest')).toMatchObject({ provider: 'blocked', model: 'gpt-4.1-nano', strategy: 'cost' });
      // nano is excluded by policy for `restricted`: the next cheapest, gpt-4o-mini.
      expect(await servedBy('cheapest', { key: keys.restricted })).toMatchObject({ provider: 'cheap', model: 'gpt-4o-mini' });
      // Quality tier 2: not gpt-4o-mini (tier 1); nano blocked, so gpt-4.1-mini (cheaper than gpt-4o).
      expect(await servedBy('cheapest-good', { key: keys.restricted })).toMatchObject({ provider: 'west', model: 'gpt-4.1-mini' });
      expect(chatModels(west)).toEqual(['gpt-4.1-mini']);
    });

    it('never picks a model that lacks a capability or the region, whatever its price', async () => {
      // Declared by the route: tools. gpt-4o-mini (cheaper) does not declare it.
      expect(await servedBy('cheapest-tools')).toMatchObject({ provider: 'west', model: 'gpt-4.1-mini' });
      // Needed by the request: vision. Only gpt-4o (and the blocked nano) declare it.
      const image = [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }];
      const { response } = await h.client(keys.restricted, { maxRetries: 0 }).chat.completions
        .create({ model: 'cheapest', messages: [{ role: 'user', content: image as never }] }).withResponse();
      expect(response.headers.get('x-tollgate-model')).toBe('gpt-4o');
      // Region us: gpt-4o-mini is served from eu only.
      expect(await servedBy('cheapest-us')).toMatchObject({ provider: 'west', model: 'gpt-4.1-mini' });
      expect(cheap.requestCount).toBe(0);
    });

    it('never picks a member an operator switched off, and streams like any model', async () => {
      const killSwitch = (method: 'PUT' | 'DELETE') => fetch(`${h.adminUrl}/admin/v1/kill-switches/model/nano`, {
        method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'incident' }),
      });
      expect((await killSwitch('PUT')).status).toBe(200);
      try {
        expect(await servedBy('cheapest')).toMatchObject({ provider: 'cheap', model: 'gpt-4o-mini' });
      } finally {
        expect((await killSwitch('DELETE')).status).toBe(200);
      }
      expect(blocked.requestCount).toBe(0);
      const stream = await h.client(keys.restricted, { maxRetries: 0 }).chat.completions
        .create({ model: 'cheapest', stream: true, messages: [{ role: 'user', content: 'Stream please' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text.length).toBeGreaterThan(0);
      expect(chatModels(cheap)).toEqual(['gpt-4o-mini', 'gpt-4o-mini']);
    });

    it('answers 400 in the OpenAI shape when no model meets the constraints', async () => {
      // Reasoning: no member declares it.
      const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, { model: 'cheapest', reasoning_effort: 'low', messages: [{ role: 'user', content: 'Think.' }] });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; type: string; code: string; param: string } };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'no_eligible_model', param: 'model' });
      expect(body.error.message).toContain('does not declare reasoning');
      expect(h.fake.requestCount + west.requestCount + cheap.requestCount + blocked.requestCount).toBe(0);
    });
  });

  describe('semantic routing', () => {
    it('routes a coding question to the code model and anything else to the default', async () => {
      expect(await servedBy('topical', { content: 'Can you write a Python function that sorts a list of dictionaries by a key?' }))
        .toMatchObject({ provider: 'west', model: 'gpt-4.1-mini', strategy: 'semantic' });
      expect(await servedBy('topical', { content: 'What is the capital city of France?' }))
        .toMatchObject({ provider: 'cheap', model: 'gpt-4o-mini', strategy: 'semantic' });
    }, 30_000);

    it('falls back to the default route when the embedding does not answer in time', async () => {
      for (let i = 0; i < 3; i++) {
        expect(await servedBy('topical-hurried', { content: 'Write a Python function that reverses a linked list.' }))
          .toMatchObject({ provider: 'cheap', model: 'gpt-4o-mini' });
      }
      expect(west.requestCount).toBe(0);
    });
  });

  describe('cascade', () => {
    const schemaFormat = (required: string) => ({
      type: 'json_schema' as const,
      json_schema: { name: 'reply', schema: { type: 'object', properties: { [required]: { type: 'string' } }, required: [required] } },
    });
    const askJson = (required: string, stream = false) => h.client(h.key, { maxRetries: 0 }).chat.completions
      .create({ model: 'cascaded', messages: [{ role: 'user', content: 'Reply in JSON' }], response_format: schemaFormat(required), ...(stream ? { stream: true } : {}) } as never)
      .withResponse();

    it('delivers the small model\'s answer when it is valid, and escalates to the big one when it is not; both metered', async () => {
      // The fakes answer {"echo": "<prompt>"}: valid for a schema requiring `echo`.
      const kept = await askJson('echo');
      expect(kept.response.headers.get('x-tollgate-model')).toBe('gpt-4o-mini');
      expect(JSON.parse((kept.data as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content)).toEqual({ echo: 'Reply in JSON' });
      expect([cheap.requestCount, h.fake.requestCount]).toEqual([1, 0]);
      const keptRecord = await h.ledgerRecord(kept.response.headers.get('x-tollgate-request-id') as string);
      expect(keptRecord?.attempts).toEqual([{ provider: 'cheap', model: 'gpt-4o-mini', status: 200 }]);

      // Not valid for a schema requiring `answer`: the client never sees gpt-4o-mini's answer, gpt-4o answers.
      const escalated = await askJson('answer');
      expect(escalated.response.headers.get('x-tollgate-provider')).toBe('east');
      expect(escalated.response.headers.get('x-tollgate-model')).toBe('gpt-4o');
      expect([cheap.requestCount, h.fake.requestCount]).toEqual([2, 1]);
      const record = await h.ledgerRecord(escalated.response.headers.get('x-tollgate-request-id') as string);
      expect(record?.attempts).toEqual([
        { provider: 'cheap', model: 'gpt-4o-mini', status: 200, escalated: 'json_schema', prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
        { provider: 'east', model: 'gpt-4o', status: 200 },
      ]);
      // The cost counts both steps: more than gpt-4o's answer alone at the same token counts.
      const alone = (record!.promptTokens * 2.5 + record!.completionTokens * 10) * 1000;
      expect(Number(record!.costNanoUsd)).toBeGreaterThan(alone);
    });

    it('escalates what the validator webhook rejects, and delivers when it does not answer in time', async () => {
      const ask = (content: string) => h.client(h.key, { maxRetries: 0 }).chat.completions
        .create({ model: 'validated', messages: [{ role: 'user', content }] }).withResponse();
      expect((await ask('Accept this')).response.headers.get('x-tollgate-model')).toBe('gpt-4o-mini');
      const rejected = await ask('Reject this');
      expect(rejected.response.headers.get('x-tollgate-model')).toBe('gpt-4o');
      const record = await h.ledgerRecord(rejected.response.headers.get('x-tollgate-request-id') as string);
      expect(record?.attempts.map((a) => [a.model, a.escalated])).toEqual([['gpt-4o-mini', 'validator'], ['gpt-4o', undefined]]);
      // The validator takes 1 s, the cascade waits 200 ms: the step's answer is delivered (and Envoy did not time out).
      const started = Date.now();
      expect((await ask('Slow and Reject')).response.headers.get('x-tollgate-model')).toBe('gpt-4o-mini');
      expect(Date.now() - started).toBeLessThan(900);
      // Only the steps before the last are validated.
      expect(validated).toEqual(['Echo: Accept this', 'Echo: Reject this', 'Echo: Slow and Reject']);
    });

    it('does not escalate a stream (its bytes reach the client as they come)', async () => {
      const { data: stream } = await askJson('answer', true);
      let text = '';
      for await (const chunk of stream as unknown as AsyncIterable<{ choices: Array<{ delta?: { content?: string } }> }>) text += chunk.choices[0]?.delta?.content ?? '';
      expect(JSON.parse(text)).toEqual({ echo: 'Reply in JSON' });
      expect([cheap.requestCount, h.fake.requestCount]).toEqual([1, 0]);
    });
  });

  describe('policy stays in charge', () => {
    it('forbids strategies: the plain chain, the first member, the default serve instead', async () => {
      expect(await servedBy('cheapest', { key: keys.steady })).toMatchObject({ provider: 'east', model: 'gpt-4o', strategy: null });
      expect(await servedBy('topical', { key: keys.steady, content: 'Write a Python function that reverses a linked list.' }))
        .toMatchObject({ provider: 'cheap', strategy: null });
      h.fake.pushFault({ kind: 'delay', ms: 100 }, 1000);
      let east = 0;
      for (let i = 0; i < 10; i++) if ((await servedBy('fast', { key: keys.steady })).provider === 'east') east++;
      // Envoy's round robin, blind to latency: the slow east keeps its share.
      expect(east).toBeGreaterThanOrEqual(3);
    });

    it('picks the member model of a virtual model', async () => {
      expect(await servedBy('cheapest', { key: keys.pinned })).toMatchObject({ provider: 'east', model: 'gpt-4o', strategy: 'policy' });
    });

    it('never contacts a provider policy excluded, with any strategy, even when it is the cheapest, fastest or nearest', async () => {
      // Unrestricted, each strategy would pick `blocked`: it is the cheapest (nano), and the code route's model.
      expect((await servedBy('cheapest')).provider).toBe('blocked');
      expect((await servedBy('topical-any', { content: 'Fix the bug in this JavaScript function that sorts an array.' })).provider).toBe('blocked');
      blocked.reset();
      const key = keys.restricted as string;
      for (let i = 0; i < 20; i++) {
        const served = await Promise.all([
          servedBy('fast-any', { key }),
          servedBy('cheapest', { key }),
          servedBy('cheapest-good', { key }),
          servedBy('topical-any', { key, content: 'Fix the bug in this JavaScript function that sorts an array.' }),
          servedBy('cascade-via-blocked', { key }),
        ]);
        for (const { provider } of served) expect(provider).not.toBe('blocked');
      }
      // The allowed deployments fail: fallbacks still never reach `blocked`.
      h.fake.pushFault({ kind: 'status', status: 503 }, 20);
      west.pushFault({ kind: 'status', status: 503 }, 20);
      const response = await postJson(`${h.baseUrl}/chat/completions`, key, { model: 'fast-any', messages: [{ role: 'user', content: 'x' }] });
      expect(response.status).toBe(503);
      expect(blocked.requestCount).toBe(0);
    }, 60_000);
  });
});
