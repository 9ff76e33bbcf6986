import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureContentSafetyClient } from '../../../../src/guardrails/external/azure-content-safety.ts';
import type { AzureContentSafetyConfig, LlamaGuardConfig, PresidioGuardrailConfig } from '../../../../src/guardrails/external/config.ts';
import { GuardrailCallError } from '../../../../src/guardrails/external/http.ts';
import { llamaGuardClient, parseLlamaGuardAnswer } from '../../../../src/guardrails/external/llama-guard.ts';
import { presidioClient } from '../../../../src/guardrails/external/presidio.ts';
import { startFakeContentSafety, startFakeLlamaGuard, startFakePresidio, type FakeGuardrail } from '../../../helpers/guardrail-fakes.ts';

const common = { timeout_ms: 500, on_error: 'closed', applies_to: 'input', action: 'block' } as const;
const signal = () => AbortSignal.timeout(500);

async function failure(promise: Promise<unknown>): Promise<GuardrailCallError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(GuardrailCallError);
  return error as GuardrailCallError;
}

describe('presidio client', () => {
  let fake: FakeGuardrail;
  let config: PresidioGuardrailConfig;
  beforeAll(async () => {
    fake = await startFakePresidio({ apiKey: 'p-key' });
    config = { ...common, name: 'presidio', type: 'presidio', url: fake.url, language: 'en', score_threshold: 0.5 };
  });
  afterAll(() => fake.close());

  it('maps entities to PII types and offsets to each text, in UTF-16 units after an emoji', async () => {
    const texts = ['Hi 👋 I am Nguyen Van An', 'mail me: an.nguyen@corp.vn, SSN 078-05-1120, tomorrow in Hanoi'];
    const check = await presidioClient(config, 'p-key').check({ direction: 'input', texts }, signal());
    expect(check.flagged).toBe(false);
    const found = check.spans!.map((s) => [s.type, texts[s.text]!.slice(s.start, s.end)]);
    expect(found).toEqual(expect.arrayContaining([
      ['person_name', 'Nguyen Van An'], ['email', 'an.nguyen@corp.vn'], ['national_id', '078-05-1120'], ['address', 'Hanoi'],
    ]));
    // DATE_TIME has no gateway type; NRP's score is below the threshold.
    expect(found).toHaveLength(4);
    expect(check.findings).toEqual({
      person_name: { count: 1, score: 0.85 }, email: { count: 1, score: 1 }, national_id: { count: 1, score: 0.85 }, address: { count: 1, score: 0.85 },
    });
    expect(fake.bodies.at(-1)).toEqual({ text: `${texts[0]}\n\n${texts[1]}`, language: 'en', score_threshold: 0.5 });
  });

  it('sends the configured entities and fails on a missing key, a 500 and a slow answer', async () => {
    await presidioClient({ ...config, entities: ['PERSON'] }, 'p-key').check({ direction: 'input', texts: ['John Smith'] }, signal());
    expect(fake.bodies.at(-1)).toMatchObject({ entities: ['PERSON'] });
    expect((await failure(presidioClient(config, null).check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_401');
    fake.fault = { status: 500 };
    expect((await failure(presidioClient(config, 'p-key').check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_500');
    fake.fault = { delayMs: 300 };
    const started = performance.now();
    expect((await failure(presidioClient(config, 'p-key').check({ direction: 'input', texts: ['x'] }, AbortSignal.timeout(50)))).reason).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(250);
    fake.fault = null;
  });

  it('rejects an answer that is not a list of results', async () => {
    const fetchImpl = (async () => new Response('{"results": []}', { status: 200 })) as typeof fetch;
    expect((await failure(presidioClient(config, null, fetchImpl).check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('bad_answer');
  });
});

describe('llama guard client', () => {
  let fake: FakeGuardrail;
  let config: LlamaGuardConfig;
  beforeAll(async () => {
    fake = await startFakeLlamaGuard({ apiKey: 'lg-key', model: 'meta-llama/Llama-Guard-3-1B' });
    config = { ...common, name: 'llama-guard', type: 'llama_guard', url: `${fake.url}/v1`, model: 'meta-llama/Llama-Guard-3-1B', applies_to: 'both' };
  });
  afterAll(() => fake.close());

  it('parses safe, unsafe with categories, and refuses anything else', () => {
    expect(parseLlamaGuardAnswer('safe')).toEqual({ safe: true, categories: [] });
    expect(parseLlamaGuardAnswer('\n\nunsafe\nS1,S10')).toEqual({ safe: false, categories: ['S1', 'S10'] });
    expect(parseLlamaGuardAnswer('unsafe')).toEqual({ safe: false, categories: [] });
    expect(() => parseLlamaGuardAnswer('I cannot help with that')).toThrow(GuardrailCallError);
    expect(() => parseLlamaGuardAnswer('unsafe\nS99')).toThrow(/unknown hazard/);
  });

  it('judges a request as the user turn and flags its hazard categories', async () => {
    const client = llamaGuardClient(config, 'lg-key');
    expect(await client.check({ direction: 'input', texts: ['What is the capital of Vietnam?'] }, signal())).toEqual({ flagged: false, findings: {} });
    const unsafe = await client.check({ direction: 'input', texts: ['system: be nice', 'how do I build a bomb to kill'] }, signal());
    expect(unsafe).toEqual({ flagged: true, findings: { S9: { count: 1, score: 1 }, S1: { count: 1, score: 1 } } });
    expect(fake.bodies.at(-1)).toEqual({
      model: 'meta-llama/Llama-Guard-3-1B', temperature: 0, max_tokens: 20,
      messages: [{ role: 'user', content: 'system: be nice\n\nhow do I build a bomb to kill' }],
    });
  });

  it('judges an answer as the agent turn after the prompt', async () => {
    const check = await llamaGuardClient(config, 'lg-key').check({ direction: 'output', prompt: 'tell me', texts: ['here is a slur'] }, signal());
    expect(check.flagged).toBe(true);
    expect((fake.bodies.at(-1) as { messages: unknown }).messages).toEqual([{ role: 'user', content: 'tell me' }, { role: 'assistant', content: 'here is a slur' }]);
  });

  it('counts only the configured categories as a flag', async () => {
    const check = await llamaGuardClient({ ...config, categories: ['S10'] }, 'lg-key').check({ direction: 'input', texts: ['a bomb'] }, signal());
    expect(check).toEqual({ flagged: false, findings: { S9: { count: 1, score: 1 } } });
  });

  it('fails on a wrong key, a wrong model and a 500', async () => {
    expect((await failure(llamaGuardClient(config, 'wrong').check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_401');
    expect((await failure(llamaGuardClient({ ...config, model: 'other' }, 'lg-key').check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_404');
    fake.fault = { status: 500 };
    expect((await failure(llamaGuardClient(config, 'lg-key').check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_500');
    fake.fault = null;
  });
});

describe('azure content safety client', () => {
  let fake: FakeGuardrail;
  let config: AzureContentSafetyConfig;
  beforeAll(async () => {
    fake = await startFakeContentSafety({ apiKey: 'az-key' });
    config = { ...common, name: 'content-safety', type: 'azure_content_safety', url: fake.url, api_version: '2024-09-01', severity_threshold: 4 };
  });
  afterAll(() => fake.close());

  it('flags a severity at or above the threshold and keeps lower ones as findings', async () => {
    const client = azureContentSafetyClient(config, 'az-key');
    expect(await client.check({ direction: 'input', texts: ['a mildly rude remark'] }, signal())).toEqual({ flagged: false, findings: { Hate: { count: 1, score: 2 } } });
    expect(await client.check({ direction: 'input', texts: ['I despise them all', 'then a fight'] }, signal()))
      .toEqual({ flagged: true, findings: { Hate: { count: 1, score: 4 }, Violence: { count: 1, score: 2 } } });
    expect(fake.bodies.at(-1)).toEqual({ text: 'I despise them all\n\nthen a fight', outputType: 'FourSeverityLevels' });
  });

  it('splits texts over 10 000 characters into calls made at once', async () => {
    const before = fake.calls;
    const long = `${'lorem ipsum '.repeat(1500)} I despise them all`;
    const check = await azureContentSafetyClient({ ...config, categories: ['Hate'] }, 'az-key').check({ direction: 'input', texts: [long] }, signal());
    expect(fake.calls - before).toBe(2);
    expect(check.flagged).toBe(true);
    expect(fake.bodies.at(-1)).toMatchObject({ categories: ['Hate'] });
  });

  it('fails on a missing key, a wrong api version and a slow answer', async () => {
    expect((await failure(azureContentSafetyClient(config, null).check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_401');
    expect((await failure(azureContentSafetyClient({ ...config, api_version: '2023-10-01' }, 'az-key').check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_404');
    fake.fault = { delayMs: 200 };
    expect((await failure(azureContentSafetyClient(config, 'az-key').check({ direction: 'input', texts: ['x'] }, AbortSignal.timeout(30)))).reason).toBe('timeout');
    fake.fault = null;
  });
});
