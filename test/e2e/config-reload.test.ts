import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/** Editing the config file changes models, scopes and providers without a restart and without dropping requests. */
describe('config changes without downtime', () => {
  let h: Harness;
  let second: FakeOpenAI;
  beforeAll(async () => {
    h = await startHarness();
    second = await startFakeOpenAI({ models: { chat: ['other-model'] } });
  });
  afterAll(async () => {
    await h?.stop();
    await second?.close();
  });

  async function until(check: () => Promise<boolean>, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('condition not reached in time');
  }

  it('adds a provider and a model while a slow stream is in flight; the stream completes intact', async () => {
    const client = h.client();
    const words = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
    const slow = client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: words }], stream: true },
      { headers: { 'x-fake-chunk-delay-ms': '100' } },
    ).then(async (stream) => {
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    });

    const next = testConfig();
    (next.providers as Record<string, unknown>).second = { type: 'openai', base_url: second.url };
    (next.models as Record<string, unknown>)['other-model'] = { provider: 'second', kind: 'chat' };
    await new Promise((r) => setTimeout(r, 300));
    await h.writeConfig(next);

    await until(async () => {
      const models = await fetch(`${h.baseUrl}/models`, { headers: { authorization: `Bearer ${h.key}` } }).then((r) => r.json()) as { data: Array<{ id: string }> };
      return models.data.some((m) => m.id === 'other-model');
    });
    const answer = await client.chat.completions.create({ model: 'other-model', messages: [{ role: 'user', content: 'hello second' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: hello second');
    expect(second.requestCount).toBe(1);

    expect(await slow).toBe(`Echo: ${words}`);
  });

  it('keeps the running config when the new one is invalid', async () => {
    const broken = testConfig();
    (broken.models as Record<string, unknown>)['gpt-4o-mini'] = { provider: 'nowhere', kind: 'chat' };
    await h.writeConfig(broken);
    await new Promise((r) => setTimeout(r, 500));
    const reload = await fetch(`${h.adminUrl}/admin/v1/config/reload`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token' } });
    expect(reload.status).toBe(400);
    expect(((await reload.json()) as { error: { message: string } }).error.message).toContain('models.gpt-4o-mini.provider');
    const answer = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still here' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: still here');
  });
});
