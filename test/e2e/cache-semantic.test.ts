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
