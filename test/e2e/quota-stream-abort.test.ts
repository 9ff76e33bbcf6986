import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptTokens } from '../../src/quota/estimate.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { postJson } from '../helpers/http.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

const TPM = 10_000;
const BUCKET_KEY = '{tg:acme}:tb:team:acme%2Fplatform:tpm';
const budgetKey = () => `{tg:acme}:budget:team:acme%2Fplatform:${new Date().toISOString().slice(0, 10)}`;
// gpt-4o-mini list prices in nano-USD per token: 0.15 and 0.60 USD per 1M.
const INPUT_NANO = 150n;
const OUTPUT_NANO = 600n;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Streams: usage from the final chunk when the stream completes; Tollgate's own count when the client leaves early. */
describe('quota settlement of streams', () => {
  const redis = useRedisServer();
  let h: Harness;
  let store: RedisStore;
  beforeAll(async () => {
    store = new RedisStore({ url: redis.url });
    const config = testConfig();
    config.quotas = { limits: { team: { 'acme/platform': { tpm: TPM } } }, budgets: { team: { 'acme/platform': { monthly_usd: 100, daily_usd: 50 } } } };
    h = await startHarness({ config, store });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await store?.close();
  });

  async function settledNano(previous: bigint): Promise<bigint> {
    for (let i = 0; i < 100; i += 1) {
      const settled = BigInt((await redis.admin.hget(budgetKey(), 's')) ?? '0');
      if (settled !== previous) return settled;
      await sleep(50);
    }
    throw new Error('the request was never settled');
  }

  async function bucketLevel(): Promise<number> {
    const [tokens, at] = String(await redis.admin.get(BUCKET_KEY)).split(':');
    const [seconds, micros] = await redis.admin.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    return Math.min(TPM, Number(tokens) + (now - Number(at)) * (TPM / 60_000));
  }

  it('settles a completed stream with the usage of its final chunk', async () => {
    const before = BigInt((await redis.admin.hget(budgetKey(), 's')) ?? '0');
    const stream = await h.client().chat.completions.create({
      model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'one two three four five' }],
    });
    let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    if (!usage) throw new Error('no usage chunk');
    const settled = await settledNano(before);
    expect(settled - before).toBe(BigInt(usage.prompt_tokens) * INPUT_NANO + BigInt(usage.completion_tokens) * OUTPUT_NANO);
  });

  it('releases the reservation of a stream the client aborts, and meters the tokens it delivered', async () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const body = { model: 'gpt-4o-mini', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: words }] };
    const before = BigInt((await redis.admin.hget(budgetKey(), 's')) ?? '0');
    const levelBefore = await bucketLevel();
    const abort = new AbortController();
    const response = await postJson(`${h.baseUrl}/chat/completions`, h.key, body, { headers: { 'x-fake-chunk-delay-ms': '50' }, signal: abort.signal });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while ((text.match(/"content":"[^"]+"/g) ?? []).length < 5) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before the abort');
      text += Buffer.from(value).toString('utf8');
    }
    abort.abort();

    const settled = await settledNano(before);
    const prompt = BigInt(promptTokens('chat', body));
    const completionNano = settled - before - prompt * INPUT_NANO;
    // Metered: the prompt, and what was delivered (at least what the client read, far less than the whole answer).
    expect(completionNano % OUTPUT_NANO).toBe(0n);
    const delivered = Number(completionNano / OUTPUT_NANO);
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(delivered).toBeLessThan(40);
    // The 1000 completion tokens reserved went back: the bucket lost only what was metered.
    const level = await bucketLevel();
    expect(levelBefore - level).toBeLessThanOrEqual(Number(prompt) + delivered + 1);
    expect(BigInt((await redis.admin.hget(budgetKey(), 'u')) ?? '0')).toBe(settled);
  }, 30_000);
});
