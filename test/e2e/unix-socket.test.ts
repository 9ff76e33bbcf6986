import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** Tollgate beside its Envoy on a Unix socket (extproc.socket_path): no TCP between the two. */
describe('ext_proc over a Unix socket', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-uds-'));
    const config = testConfig();
    config.extproc = { socket_path: join(dir, 'extproc.sock') };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves JSON and streams through the socket', async () => {
    expect(existsSync(join(dir, 'extproc.sock'))).toBe(true);
    const clusters = await fetch(`${h.envoyAdminUrl}/clusters`).then((r) => r.text());
    expect(clusters).toContain(`tollgate_extproc::${join(dir, 'extproc.sock')}`);
    const answer = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'over uds' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: over uds');
    let text = '';
    for await (const chunk of await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a b c' }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Echo: a b c');
  });
});
