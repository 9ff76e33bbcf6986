import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/**
 * Every ext_proc transport behind real Envoy: h2-lite (the default, src/extproc/h2-lite.ts, which every other e2e test
 * also runs on), Node's HTTP/2 server and @grpc/grpc-js, which stay selectable.
 */
describe.each(['h2-lite', 'http2', 'grpc-js'] as const)('ext_proc over %s (extproc.transport)', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    const config = testConfig();
    config.extproc = { transport };
    h = await startHarness({ config });
  });
  afterAll(async () => h?.stop());

  it('serves JSON and streamed completions', async () => {
    const reply = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `over ${transport}` }] });
    expect(reply.choices[0]?.message.content).toBe(`Echo: over ${transport}`);
    let text = '';
    for await (const chunk of await h.client().chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c' }] })) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('Echo: a b c');
  });

  it('carries request and response bodies larger than 64 KiB (many DATA frames, window updates)', async () => {
    const content = Array.from({ length: 40_000 }, (_, i) => `w${i}`).join(' ');
    expect(content.length).toBeGreaterThan(200 * 1024);
    const reply = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
    expect(reply.choices[0]?.message.content).toBe(`Echo: ${content}`);
  });
});
