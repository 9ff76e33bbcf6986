import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { PROVIDER_KEY, startHarness, type Harness } from '../helpers/gateway-harness.ts';

/** One structured line per request, with ids, tenant, model, provider, status, latency and tokens — never secrets or prompts. */
describe('request log', () => {
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    h = await startHarness({ logger: createLogger('info', sink) });
  });
  afterAll(async () => h?.stop());

  const requestLines = () => lines.filter((line) => line.msg === 'request');
  async function until(check: () => boolean) {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  }

  it('writes one line per request with tenant, model, provider, status, latency and tokens', async () => {
    const prompt = 'my card is 4111 1111 1111 1111 and this prompt is SECRET-PROMPT-7731';
    const { data, response } = await h.client().chat.completions
      .create({ model: 'gpt-4o-mini', user: 'user-42', messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-tollgate-feature': 'summaries' } })
      .withResponse();
    const requestId = response.headers.get('x-tollgate-request-id');
    await until(() => requestLines().some((line) => line.request_id === requestId));
    const mine = requestLines().filter((line) => line.request_id === requestId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      org: 'acme', team: 'platform', app: 'playground', user: 'user-42', feature: 'summaries',
      model: 'gpt-4o-mini', provider: 'openai', status: 200, outcome: 'completed',
      prompt_tokens: data.usage?.prompt_tokens, completion_tokens: data.usage?.completion_tokens, total_tokens: data.usage?.total_tokens,
    });
    expect(mine[0]?.latency_ms).toEqual(expect.any(Number));
    const everything = raw.join('\n');
    for (const secret of ['SECRET-PROMPT-7731', '4111 1111', h.key, PROVIDER_KEY, 'Echo:']) expect(everything).not.toContain(secret);
  });

  it('logs rejected requests too, and a client that hangs up mid-stream as aborted', async () => {
    await fetch(`${h.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' });
    await until(() => requestLines().some((line) => line.status === 401));
    expect(requestLines().find((line) => line.status === 401)).toMatchObject({ outcome: 'rejected', error_code: 'invalid_api_key' });

    const controller = new AbortController();
    const stream = await h.client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a b c d e f g h i j' }], stream: true },
      { headers: { 'x-fake-chunk-delay-ms': '100' }, signal: controller.signal },
    );
    for await (const _chunk of stream) {
      controller.abort();
      break;
    }
    await until(() => requestLines().some((line) => line.outcome === 'aborted'));
    expect(requestLines().find((line) => line.outcome === 'aborted')).toMatchObject({ stream: true, model: 'gpt-4o-mini' });
  });
});
