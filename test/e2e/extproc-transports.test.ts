import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** Every other e2e test runs on the default transport (h2-lite); this keeps grpc-js working too (extproc-http2.test.ts keeps node:http2). */
describe('ext_proc over @grpc/grpc-js (extproc.transport: grpc-js)', () => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    config.extproc = { transport: 'grpc-js' };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());

  it('serves JSON and streamed completions', async () => {
    const reply = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'over grpc-js' }] });
    expect(reply.choices[0]?.message.content).toBe('Echo: over grpc-js');
    let text = '';
    for await (const chunk of await h.client().chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c' }] })) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('Echo: a b c');
  });
});
