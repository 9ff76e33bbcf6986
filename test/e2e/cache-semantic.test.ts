import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMBEDDING_MODEL, startEmbeddingServer, type EmbeddingServer } from '../helpers/embedding-server.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

const EMBED_KEY = 'sk-local-embeddings';

/**
 * The semantic cache through real Envoy, with a real sentence-embedding model (all-MiniLM-L6-v2 from a PyPI
 * package, served by a local OpenAI-compatible endpoint) called through Tollgate's provider config and credential.
 */
describe('semantic response cache', () => {
  let h: Harness;
  let embeddings: EmbeddingServer;
  beforeAll(async () => {
    embeddings = await startEmbeddingServer({ apiKey: EMBED_KEY });
    process.env.TEST_EMBED_KEY = EMBED_KEY;
    const base = testConfig() as { providers: Record<string, unknown>; models: Record<string, unknown> };
    h = await startHarness({
      config: {
        ...base,
        providers: { ...base.providers, local: { type: 'openai', base_url: embeddings.url, api_key_env: 'TEST_EMBED_KEY' } },
        models: { ...base.models, minilm: { provider: 'local', kind: 'embeddings', upstream_model: EMBEDDING_MODEL } },
        cache: { embeddings_model: 'minilm', defaults: { semantic_threshold: 0.7 } },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await h?.stop();
    await embeddings?.stop();
  });
  beforeEach(() => h.fake.reset());

  const ask = (content: string, options: { key?: string; headers?: Record<string, string> } = {}) =>
    h.client(options.key).chat.completions
      .create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] }, { headers: options.headers })
      .withResponse();

  it('answers a paraphrase from the cache, and the provider is asked once', async () => {
    const first = await ask('What is the capital city of France?');
    expect(first.response.headers.get('x-tollgate-cache')).toBe('miss');
    const paraphrase = await ask('Tell me the capital of France.');
    expect(paraphrase.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(paraphrase.response.headers.get('x-tollgate-cache-match')).toBe('semantic');
    expect(paraphrase.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    expect(h.fake.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(1);
  });

  it('does not answer near-misses: another entity, other numbers, negation, another language', async () => {
    await ask('How many days are there in 3 weeks?');
    await ask('Should I use a mutex in this code?');
    const nearMisses = [
      'What is the capital city of Spain?',
      'How many days are there in 5 weeks?',
      'Should I not use a mutex in this code?',
      'Quelle est la capitale de la France ?',
    ];
    for (const question of nearMisses) {
      const { response } = await ask(question);
      expect(response.headers.get('x-tollgate-cache'), question).toBe('miss');
    }
  });

  it('never answers across tenants, and not for personalized requests', async () => {
    await ask('Explain what a binary search tree is.');
    const otherKey = await h.createKey('research', 'notebook');
    const other = await ask('Can you explain what a binary search tree is?', { key: otherKey });
    expect(other.response.headers.get('x-tollgate-cache')).toBe('miss');
    const personalized = await ask('Can you explain what a binary search tree is?', { headers: { 'x-tollgate-personalized': 'true' } });
    expect(personalized.response.headers.get('x-tollgate-cache')).toBe('bypass');
    const same = await ask('Can you explain what a binary search tree is?');
    expect(same.response.headers.get('x-tollgate-cache')).toBe('hit');
  });

  it('keeps earlier turns exact: the same last question after a different conversation is a miss', async () => {
    const create = (history: string) => h.client().chat.completions.create({
      model: 'gpt-4o-mini', temperature: 0,
      messages: [{ role: 'user', content: history }, { role: 'assistant', content: 'Sure.' }, { role: 'user', content: 'Summarize that in one line.' }],
    }).withResponse();
    await create('Here is my essay about whales.');
    const { response } = await create('Here is my essay about trains.');
    expect(response.headers.get('x-tollgate-cache')).toBe('miss');
  });
});

/**
 * Error-bounded semantic hits through real Envoy and the real embedding model: a scope serves nothing from the
 * semantic cache until verified outcomes certify a threshold; until then would-be hits go to the provider and the
 * fresh answer is compared with the stored one. The policy here is loose (20 % at 80 % confidence: 8 agreeing
 * outcomes) so the test can reach it.
 */
describe('error-bounded semantic cache', () => {
  let h: Harness;
  let embeddings: EmbeddingServer;
  beforeAll(async () => {
    embeddings = await startEmbeddingServer({ apiKey: EMBED_KEY });
    process.env.TEST_EMBED_KEY = EMBED_KEY;
    const base = testConfig() as { providers: Record<string, unknown>; models: Record<string, unknown> };
    h = await startHarness({
      config: {
        ...base,
        providers: { ...base.providers, local: { type: 'openai', base_url: embeddings.url, api_key_env: 'TEST_EMBED_KEY' } },
        models: { ...base.models, minilm: { provider: 'local', kind: 'embeddings', upstream_model: EMBEDDING_MODEL } },
        cache: {
          embeddings_model: 'minilm', semantic_confidence: 0.8, semantic_explore_rate: 0, semantic_answer_agreement: 0.5,
          defaults: { semantic_threshold: 0.7, semantic_max_error: 0.2 },
        },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await h?.stop();
    await embeddings?.stop();
  });

  const ask = (content: string) =>
    h.client().chat.completions.create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] }).withResponse();
  const verified = async () => {
    const metric = await h.tollgate.metrics.cacheVerifications.get();
    return metric.values.reduce((sum, value) => sum + value.value, 0);
  };
  const agreed = async () => {
    const metric = await h.tollgate.metrics.cacheVerifications.get();
    return metric.values.find((value) => value.labels.outcome === 'agreed')?.value ?? 0;
  };

  it('verifies would-be hits against the provider until the outcomes certify a threshold, then serves hits', async () => {
    await ask('What is the capital city of France?');
    const paraphrases = [
      'Tell me the capital of France.',
      'What is the capital of France?',
      'Which city is the capital of France?',
      'What city is the capital of France?',
      'What is the French capital city?',
      'Quick question: what is the capital city of France?',
      'Whats the capital city of France?',
      'Can you tell me the capital city of France?',
    ];
    for (const [index, question] of paraphrases.entries()) {
      const { response } = await ask(question);
      expect(response.headers.get('x-tollgate-cache'), question).toBe('miss');
      expect(response.headers.get('x-tollgate-cache-verify'), question).toBe('explore');
      // The verification runs after the answer: wait for its outcome before the next request reads the counts.
      await expect.poll(verified, { timeout: 10_000 }).toBe(index + 1);
    }
    expect(await agreed()).toBe(paraphrases.length);
    const served = await ask('what is the capital city of france, please?');
    expect(served.response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(served.response.headers.get('x-tollgate-cache-match')).toBe('semantic');
  });
});
