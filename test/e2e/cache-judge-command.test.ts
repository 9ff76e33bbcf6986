import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { normalize } from '../../src/cache/embeddings-client.ts';
import { judgePair } from '../../src/cache/semantic-judge.ts';
import { EMBEDDING_MODEL, startEmbeddingServer, type EmbeddingServer } from '../helpers/embedding-server.ts';
import { projectRoot } from '../helpers/policy-bundle.ts';
import { testConfig } from '../helpers/gateway-harness.ts';

/** `tollgate cache-judge` against the real all-MiniLM-L6-v2 model: its answers are the cache's own decisions. */
describe('tollgate cache-judge', () => {
  let embeddings: EmbeddingServer;
  let configPath: string;

  beforeAll(async () => {
    embeddings = await startEmbeddingServer({ apiKey: 'embed-key' });
    const base = testConfig() as { providers: Record<string, unknown>; models: Record<string, unknown>; orgs: unknown };
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-judge-'));
    configPath = join(dir, 'tollgate.yaml');
    await writeFile(configPath, stringify({
      ...base,
      providers: { ...base.providers, local: { type: 'openai', base_url: embeddings.url, api_key_env: 'TEST_EMBED_KEY' } },
      models: { ...base.models, minilm: { provider: 'local', kind: 'embeddings', upstream_model: EMBEDDING_MODEL } },
      cache: { embeddings_model: 'minilm', defaults: { semantic_threshold: 0.6 }, models: { 'gpt-4o': { semantic_threshold: 0.95 } } },
    }));
  }, 90_000);

  afterAll(async () => embeddings?.stop());

  const pairs = [
    { a: 'How do I reverse a list in Python?', b: 'What is the way to reverse a Python list?' },
    { a: 'How do I reverse a list in Python?', b: 'How do I reverse a list in Rust?' },
    { a: 'Why does `df.groupby("a")` fail?', b: 'Why does `df.groupby("b")` fail?' },
    { a: 'List 3 tips for better sleep', b: 'List 5 tips for better sleep' },
    { a: 'Summarise this article as a table', b: 'Summarise this article as a bulleted list' },
  ];

  const run = (args: string[], input: string) => new Promise<string>((resolve, reject) => {
    const child = execFile(join(projectRoot, 'bin/tollgate'), ['cache-judge', '--config', configPath, ...args],
      { env: { ...process.env, TEST_EMBED_KEY: 'embed-key', TEST_OPENAI_KEY: 'x' } }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)));
    child.stdin!.end(input);
  });

  async function embed(text: string): Promise<Float32Array> {
    const response = await fetch(`${embeddings.url}/embeddings`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer embed-key' },
      body: JSON.stringify({ model: EMBEDDING_MODEL, input: [text] }),
    });
    const parsed = (await response.json()) as { data: Array<{ embedding: number[] }> };
    return normalize(Float32Array.from(parsed.data[0]!.embedding));
  }

  it('prints the cache decision per pair, with the configured threshold and checks', async () => {
    const out = (await run([], pairs.map((pair) => JSON.stringify(pair)).join('\n'))).trim().split('\n').map((line) => JSON.parse(line));
    expect(out).toHaveLength(pairs.length);
    for (const [i, pair] of pairs.entries()) {
      const expected = judgePair({ text: pair.a, vector: await embed(pair.a) }, { text: pair.b, vector: await embed(pair.b) }, 0.6);
      expect(out[i]).toEqual(expected);
    }
    expect(out[0]).toMatchObject({ hit: true, reason: 'similar' });
    expect(out.slice(1).map((judgement: { hit: boolean }) => judgement.hit)).toEqual([false, false, false, false]);
    expect(out[2].reason).toBe('literal');
    expect(out[3].reason).toBe('numbers');
    expect(out[4].reason).toBe('format');
  }, 60_000);

  it('uses the model\'s own threshold with --model, and answers bad lines in place', async () => {
    const out = (await run(['--model', 'gpt-4o'], `${JSON.stringify(pairs[0])}\nnope\n{"a":1}`)).trim().split('\n').map((line) => JSON.parse(line));
    expect(out[0].hit).toBe(out[0].similarity >= 0.95);
    expect(out[1].error).toMatch(/not JSON/);
    expect(out[2].error).toMatch(/expected/);
  }, 60_000);
});
