import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../../src/config/load-config.ts';
import type { PromptInjectionConfig, TopicsGuardrailConfig } from '../../../../src/guardrails/external/config.ts';
import { GuardrailCallError, type FetchLike } from '../../../../src/guardrails/external/http.ts';
import { promptInjectionClient } from '../../../../src/guardrails/external/prompt-injection.ts';
import { topicsClient } from '../../../../src/guardrails/external/topics.ts';
import { testConfig } from '../../../helpers/gateway-harness.ts';

const common = { timeout_ms: 500, on_error: 'closed', applies_to: 'input', action: 'block' } as const;
const signal = () => AbortSignal.timeout(500);

/** A fetch that answers JSON from `answer(path, body)` and records the calls. */
function stubFetch(answer: (path: string, body: any) => unknown | Promise<unknown>) {
  const calls: Array<{ path: string; body: any }> = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    const path = new URL(String(url)).pathname;
    const body = JSON.parse(String(init?.body));
    calls.push({ path, body });
    const result = await answer(path, body);
    if (result instanceof Response) return result;
    return new Response(JSON.stringify(result), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as FetchLike;
  return { impl, calls };
}

async function failure(promise: Promise<unknown>): Promise<GuardrailCallError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(GuardrailCallError);
  return error as GuardrailCallError;
}

describe('prompt_injection client', () => {
  const config: PromptInjectionConfig = { ...common, name: 'inj', type: 'prompt_injection', url: 'http://sidecar:8090' };

  it('scores the untrusted texts in one call; the highest score is the finding, the model threshold decides', async () => {
    const stub = stubFetch(() => ({ scores: [0.1, 0.8], threshold: 0.5, model: 'm' }));
    const check = await promptInjectionClient(config, null, stub.impl).check({ direction: 'input', texts: ['sys', 'a', 'b'], untrusted: ['a', 'b'] }, signal());
    expect(stub.calls).toEqual([{ path: '/v1/injection', body: { texts: ['a', 'b'] } }]);
    expect(check).toEqual({ flagged: true, findings: { injection: { count: 1, score: 0.8 } } });
  });

  it('a configured threshold replaces the model one', async () => {
    const stub = stubFetch(() => ({ scores: [0.8], threshold: 0.5 }));
    const check = await promptInjectionClient({ ...config, threshold: 0.9 }, null, stub.impl).check({ direction: 'input', texts: ['a'] }, signal());
    expect(check).toEqual({ flagged: false, findings: { injection: { count: 1, score: 0.8 } } });
  });

  it('does not call the sidecar without untrusted text, and rejects answers it cannot trust', async () => {
    const none = stubFetch(() => ({ scores: [], threshold: 0.5 }));
    expect(await promptInjectionClient(config, null, none.impl).check({ direction: 'input', texts: ['system only'], untrusted: [] }, signal()))
      .toEqual({ flagged: false, findings: { injection: { count: 1, score: 0 } } });
    expect(none.calls).toHaveLength(0);
    for (const answer of [{ scores: [0.2, 0.3], threshold: 0.5 }, { scores: ['high'], threshold: 0.5 }, { scores: [0.2] }, { scores: [1.5], threshold: 0.5 }]) {
      const stub = stubFetch(() => answer);
      expect((await failure(promptInjectionClient(config, null, stub.impl).check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('bad_answer');
    }
    const down = stubFetch(() => new Response('no', { status: 503 }));
    expect((await failure(promptInjectionClient(config, 'k', down.impl).check({ direction: 'input', texts: ['x'] }, signal()))).reason).toBe('http_503');
  });
});

// Embeddings from keywords: each known word is an axis, so similarities are predictable.
const AXES = ['pill', 'dose', 'gun', 'recipe', 'cook', 'trip', 'hotel', 'tax'];
const vectorOf = (text: string) => {
  const v = AXES.map((word) => (text.toLowerCase().includes(word) ? 1 : 0));
  return v.some(Boolean) ? v : [...v.map(() => 0), 1].slice(0, AXES.length - 1).concat([0.01]);
};
const embeddings = (body: { input: string[] }) => ({ object: 'list', data: body.input.map((text, index) => ({ index, embedding: vectorOf(text) })) });

describe('topics client', () => {
  const config: TopicsGuardrailConfig = {
    ...common, name: 'topics', type: 'topics', url: 'http://sidecar:8090/v1', model: 'all-MiniLM-L6-v2', threshold: 0.6,
    deny: { medical: ['which pill dose'], weapons: ['buy a gun'] },
  };

  it('flags a text close to a denied topic, with the topic and its similarity; embeds the phrases once', async () => {
    const stub = stubFetch((_, body) => embeddings(body));
    const client = topicsClient(config, null, stub.impl);
    const check = await client.check({ direction: 'input', texts: ['system', 'what pill dose for a headache?'], compare: ['what pill dose for a headache?'] }, signal());
    expect(check).toEqual({ flagged: true, findings: { medical: { count: 1, score: 1 } } });
    const clean = await client.check({ direction: 'input', texts: ['a recipe please'], compare: ['a recipe please'] }, signal());
    expect(clean).toEqual({ flagged: false, findings: {} });
    const phraseCalls = stub.calls.filter((c) => c.body.input.length === 2);
    expect(phraseCalls).toHaveLength(1);
    expect(phraseCalls[0]!.body).toEqual({ model: 'all-MiniLM-L6-v2', input: ['which pill dose', 'buy a gun'], encoding_format: 'float' });
    expect(stub.calls.every((c) => c.path === '/v1/embeddings')).toBe(true);
  });

  it('with an allow list, flags a text off every allowed topic as off_topic', async () => {
    const allow: TopicsGuardrailConfig = { ...config, deny: undefined, allow: { cooking: ['recipe to cook'], travel: ['trip and hotel'] } };
    const stub = stubFetch((_, body) => embeddings(body));
    const client = topicsClient(allow, null, stub.impl);
    expect(await client.check({ direction: 'input', texts: ['recipe to cook rice'], compare: ['recipe to cook rice'] }, signal())).toEqual({ flagged: false, findings: {} });
    const off = await client.check({ direction: 'input', texts: ['my tax return'], compare: ['my tax return'] }, signal());
    expect(off.flagged).toBe(true);
    expect(off.findings.off_topic!.score).toBeGreaterThan(0.4);
  });

  it('retries the phrases after a failure, and times out while they are still on their way', async () => {
    let fail = true;
    const stub = stubFetch((_, body) => {
      if (body.input.length === 2 && fail) return new Response('busy', { status: 503 });
      return embeddings(body);
    });
    const client = topicsClient(config, null, stub.impl);
    expect((await failure(client.check({ direction: 'input', texts: ['gun'] }, signal()))).reason).toBe('http_503');
    fail = false;
    expect((await client.check({ direction: 'input', texts: ['buy a gun'] }, signal())).findings).toEqual({ weapons: { count: 1, score: 1 } });

    const slow = stubFetch((_, body) => body.input.length === 2 ? new Promise(() => {}) : embeddings(body));
    const started = performance.now();
    expect((await failure(topicsClient(config, null, slow.impl).check({ direction: 'input', texts: ['gun'] }, AbortSignal.timeout(100)))).reason).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(400);
  });
});

describe('config', () => {
  // validateConfig fills defaults in place: every case gets its own copy.
  const base = testConfig();
  const withGuardrail = (guardrail: object) => ({ ...structuredClone(base), guardrails: { external: [guardrail] } });

  it('accepts both types with their defaults', () => {
    const config = validateConfig(withGuardrail({ name: 'topics', type: 'topics', url: 'http://sidecar/v1', deny: { medical: ['dose'] } }));
    expect(config.guardrails.external[0]).toMatchObject({ model: 'all-MiniLM-L6-v2', threshold: 0.35, timeout_ms: 300, on_error: 'closed' });
    const injection = validateConfig(withGuardrail({ name: 'inj', type: 'prompt_injection', url: 'http://sidecar', threshold: 0.7, when: { teams: ['platform'] } }));
    expect(injection.guardrails.external[0]).toMatchObject({ type: 'prompt_injection', threshold: 0.7 });
  });

  it('rejects a topic guardrail without lists, empty lists, and unknown fields', () => {
    expect(() => validateConfig(withGuardrail({ name: 't', type: 'topics', url: 'http://sidecar/v1' }))).toThrow(/guardrails\.external\.0/);
    expect(() => validateConfig(withGuardrail({ name: 't', type: 'topics', url: 'http://sidecar/v1', deny: { medical: [] } }))).toThrow(/guardrails\.external\.0/);
    expect(() => validateConfig(withGuardrail({ name: 'i', type: 'prompt_injection', url: 'http://sidecar', deny: { x: ['y'] } }))).toThrow(/guardrails\.external\.0/);
    expect(() => validateConfig(withGuardrail({ name: 'i', type: 'prompt_injection', url: 'http://sidecar', applies_to: 'output' }))).toThrow(/guardrails\.external\.0/);
  });
});
