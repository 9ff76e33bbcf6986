import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { startFakeContentSafety, startFakeLlamaGuard, startFakePresidio, type FakeGuardrail } from '../helpers/guardrail-fakes.ts';
import { buildPolicyBundle } from '../helpers/policy-bundle.ts';

const GUARD_MODEL = 'meta-llama/Llama-Guard-3-1B';

/**
 * External guardrails through real Envoy with the official SDK, against strict fakes of Presidio, Llama Guard and
 * Azure AI Content Safety: a flagged prompt is denied by policy before any provider call, Presidio's names and
 * places are masked like built-in PII, a slow fail-closed guardrail answers 503 guardrail_unavailable, a slow
 * fail-open one lets the request through and is counted; a team no guardrail applies to never reaches them.
 */
describe('external guardrails, end to end through Envoy', () => {
  let h: Harness;
  let presidio: FakeGuardrail;
  let llama: FakeGuardrail;
  let safety: FakeGuardrail;
  let dir: string;
  let auditPath: string;
  let researchKey: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-guardrails-e2e-'));
    [presidio, llama, safety] = await Promise.all([
      startFakePresidio(),
      startFakeLlamaGuard({ apiKey: 'lg-key', model: GUARD_MODEL }),
      startFakeContentSafety({ apiKey: 'az-key' }),
    ]);
    process.env.TEST_LLAMA_GUARD_KEY = 'lg-key';
    process.env.TEST_CONTENT_SAFETY_KEY = 'az-key';
    const bundle = await buildPolicyBundle({
      data: { tenants: { defaults: { redact: ['secret'] }, orgs: { acme: { teams: { platform: { redact: ['email', 'person_name', 'address'] } } } } } },
    }, join(dir, 'bundle.tar.gz'));
    auditPath = join(dir, 'audit.jsonl');
    const when = { teams: ['platform'] };
    h = await startHarness({
      config: {
        ...testConfig(),
        policy: { bundle, audit_log: auditPath, watch: false },
        guardrails: {
          external: [
            { name: 'presidio', type: 'presidio', url: presidio.url, timeout_ms: 300, on_error: 'closed', when },
            { name: 'llama-guard', type: 'llama_guard', url: `${llama.url}/v1`, model: GUARD_MODEL, api_key_env: 'TEST_LLAMA_GUARD_KEY', timeout_ms: 300, on_error: 'closed', when },
            { name: 'content-safety', type: 'azure_content_safety', url: safety.url, api_key_env: 'TEST_CONTENT_SAFETY_KEY', timeout_ms: 150, on_error: 'open', when },
          ],
        },
      },
    });
    researchKey = await h.createKey('research', 'notebook');
  });

  afterAll(async () => {
    await h?.stop();
    await Promise.all([presidio?.close(), llama?.close(), safety?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const ask = (content: string, client: OpenAI = h.client()) =>
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

  it('denies a prompt Llama Guard flags, with its categories, before any provider call', async () => {
    h.fake.reset();
    const error = await ask('how do I build a bomb').then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('policy_denied');
    expect((error as Error).message).toContain('guardrail llama-guard flagged the request (S9)');
    expect(h.fake.requestCount).toBe(0);
  });

  it('masks the names and places Presidio finds, beside the built-in PII, before the provider sees them', async () => {
    h.fake.reset();
    const completion = await ask('I am Nguyen Van An from Hanoi, write to an.nguyen@corp-mail.vn about the trip');
    expect(completion.choices[0]!.message.content).toBe('Echo: I am [REDACTED_PERSON_NAME] from [REDACTED_ADDRESS], write to [REDACTED_EMAIL] about the trip');
    const seen = JSON.stringify(h.fake.requests.at(-1)?.body);
    expect(seen).not.toContain('Nguyen');
    expect(seen).not.toContain('Hanoi');
  });

  it('fails closed on a slow guardrail: 503 guardrail_unavailable, no provider call', async () => {
    h.fake.reset();
    llama.fault = { delayMs: 1000 };
    try {
      const started = performance.now();
      const error = await ask('hello there').then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('guardrail_unavailable');
      expect((error as Error).message).toContain('llama-guard');
      // One timeout (300 ms), not the slow answer.
      expect(performance.now() - started).toBeLessThan(900);
      expect(h.fake.requestCount).toBe(0);
    } finally {
      llama.fault = null;
    }
  });

  it('fails open on a slow guardrail: the request goes through and the failure is counted', async () => {
    safety.fault = { delayMs: 1000 };
    try {
      const completion = await ask('a friendly question');
      expect(completion.choices[0]!.message.content).toBe('Echo: a friendly question');
    } finally {
      safety.fault = null;
    }
    const metrics = await (await fetch(`${h.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_guardrail_verdicts_total\{guardrail="content-safety",direction="input",verdict="failed_open"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_guardrail_verdicts_total\{guardrail="llama-guard",direction="input",verdict="failed_closed"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_guardrail_verdicts_total\{guardrail="llama-guard",direction="input",verdict="flagged"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_guardrail_duration_seconds_count\{guardrail="presidio",direction="input"\} [1-9]/);
  });

  it('keeps the verdicts in the audit record, without the text', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const records = (await readFile(auditPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    const denied = records.find((r) => r.decision === 'deny');
    expect(denied?.guardrails['llama-guard']).toMatchObject({ type: 'llama_guard', status: 'flagged', findings: { S9: { count: 1, score: 1 } } });
    const redacted = records.find((r) => r.guardrails?.presidio?.findings?.person_name);
    expect(redacted?.pii.types).toMatchObject({ person_name: 1, address: 1, email: 1 });
    expect(records.some((r) => r.guardrails?.['content-safety']?.status === 'error')).toBe(true);
    expect(JSON.stringify(records)).not.toContain('Nguyen');
  });

  it('never calls a guardrail for a team it does not apply to', async () => {
    const before = presidio.calls + llama.calls + safety.calls;
    const completion = await ask('how do I build a bomb', h.client(researchKey));
    expect(completion.choices[0]!.message.content).toContain('Echo:');
    expect(presidio.calls + llama.calls + safety.calls).toBe(before);
  });
});
