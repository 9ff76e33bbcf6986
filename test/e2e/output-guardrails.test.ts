import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';

/**
 * Output guardrails through real Envoy with the official SDK: the fake provider echoes the prompt, so the answer
 * carries exactly the values the test puts in it. Emails and phones are masked, secrets stop the answer.
 */
describe('output guardrails, end to end through Envoy', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      config: { ...testConfig(), guardrails: { output: { redact: ['email', 'phone'], block: ['secret'], window_chars: 32 } } },
    });
  });

  afterAll(async () => h?.stop());

  const PROMPT = 'Please forward this to lan.tran@vinamilk.com.vn and call her on 0987 654 321 tomorrow morning.';

  it('masks values in a JSON answer and keeps the usage', async () => {
    const client = h.client();
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
    const content = completion.choices[0]!.message.content!;
    expect(content).toContain('[REDACTED_EMAIL]');
    expect(content).toContain('[REDACTED_PHONE]');
    expect(content).not.toContain('vinamilk');
    expect(content).not.toContain('654');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('masks values in a stream, split across chunks, and ends it cleanly', async () => {
    const stream = await h.client().chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: PROMPT }] });
    let content = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(content).toContain('[REDACTED_EMAIL]');
    expect(content).toContain('[REDACTED_PHONE]');
    expect(content).not.toContain('vinamilk');
    expect(finish).toBe('stop');
  });

  it('stops a stream that carries a secret with an error the SDK raises, never a clean finish', async () => {
    const stream = await h.client().chat.completions.create({
      model: 'gpt-4o-mini', stream: true,
      messages: [{ role: 'user', content: 'Use the key sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a for the staging deployment please.' }],
    });
    let content = '';
    const read = async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
    };
    await expect(read()).rejects.toThrow(/output guardrail/);
    expect(content).not.toContain('sk-proj');
  });

  it('answers a JSON request carrying a secret with finish_reason content_filter and no content', async () => {
    const completion = await h.client().chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'db password: Tr0ub4dor&3 in prod' }],
    });
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });
  });

  it('counts what it found in the metrics, by type and action', async () => {
    const metrics = await (await fetch(`${h.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_output_guardrail_findings_total\{type="email",action="redacted"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_output_guardrail_findings_total\{type="secret",action="blocked"\} [1-9]/);
  });
});
