import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** The default transport is h2-lite (what the other e2e tests use); this keeps Node's HTTP/2 server working too. */
describe('ext_proc over node:http2 (extproc.transport: http2)', () => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    config.extproc = { transport: 'http2' };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());

  it('serves JSON and streamed completions', async () => {
    const reply = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'over http2' }] });
    expect(reply.choices[0]?.message.content).toBe('Echo: over http2');
    let text = '';
    for await (const chunk of await h.client().chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c' }] })) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('Echo: a b c');
  });

  it('carries request and response bodies larger than 64 KiB', async () => {
    const content = Array.from({ length: 40_000 }, (_, i) => `w${i}`).join(' ');
    const reply = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
    expect(reply.choices[0]?.message.content).toBe(`Echo: ${content}`);
  });
});
