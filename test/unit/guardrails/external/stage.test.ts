import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../../../src/config/load-config.ts';
import type { ExternalGuardrailConfig } from '../../../../src/guardrails/external/config.ts';
import { selectGuardrails, createGuardrail } from '../../../../src/guardrails/external/guardrail-set.ts';
import { redactPii } from '../../../../src/guardrails/pii/scan.ts';
import { detectPii } from '../../../../src/guardrails/pii/scan.ts';
import { requestTexts } from '../../../../src/guardrails/pii/request-text.ts';
import { GatewayError } from '../../../../src/errors/gateway-error.ts';
import { GatewayMetrics } from '../../../../src/observability/metrics.ts';
import { UpstreamEdits, type RequestContext } from '../../../../src/pipeline/context.ts';
import { externalGuardrailsStage } from '../../../../src/stages/external-guardrails.ts';

const common = { timeout_ms: 200, on_error: 'closed', applies_to: 'input', action: 'block' } as const;
const llama: ExternalGuardrailConfig = { ...common, name: 'lg', type: 'llama_guard', url: 'http://guard/v1', model: 'guard' };
const presidio: ExternalGuardrailConfig = { ...common, name: 'pr', type: 'presidio', url: 'http://presidio', language: 'en', score_threshold: 0.5 };

function ctxFor(content: string, team = 'platform'): RequestContext {
  return {
    requestId: 'r1', endpoint: 'chat', stream: false, model: 'gpt-4o',
    tenant: { org: 'acme', team, app: 'bot', user: null, feature: null, keyId: 'k' },
    body: { model: 'gpt-4o', messages: [{ role: 'user', content }] },
    routing: { alias: 'gpt-4o', candidates: [], excludedProviders: new Set(), allowedRegions: null, reasons: [] },
    upstream: new UpstreamEdits(),
    log: pino({ level: 'silent' }),
  } as unknown as RequestContext;
}

/** A fetch that answers every guardrail call from a function of the URL (no network). */
const answering = (answer: (url: string) => unknown): typeof fetch =>
  (async (input: string | URL | Request) => new Response(JSON.stringify(answer(String(input))), { status: 200 })) as typeof fetch;
const unsafe = answering(() => ({ choices: [{ message: { content: 'unsafe\nS1' } }] }));

describe('external guardrails stage', () => {
  it('costs nothing without a guardrail: the hook returns at once, no promise', () => {
    const stage = externalGuardrailsStage({ config: () => [], env: {}, policyDecides: true });
    expect(stage.onRequest!(ctxFor('hi'))).toBeUndefined();
    const scoped = externalGuardrailsStage({ config: () => [{ ...llama, when: { teams: ['hr'] } }], env: {}, policyDecides: true, fetch: unsafe });
    expect(scoped.onRequest!(ctxFor('hi'))).toBeUndefined();
  });

  it('selects by direction, team, app (team/app or app) and model', () => {
    const all = [
      createGuardrail({ ...llama, name: 'a', applies_to: 'both', when: { teams: ['platform'] } }, {}),
      createGuardrail({ ...llama, name: 'b', applies_to: 'output' }, {}),
      createGuardrail({ ...llama, name: 'c', when: { apps: ['platform/bot'], models: ['gpt-4o'] } }, {}),
      createGuardrail({ ...llama, name: 'd', when: { apps: ['other'] } }, {}),
    ];
    const names = (direction: 'input' | 'output', team: string, model = 'gpt-4o') =>
      selectGuardrails(all, direction, { team, app: 'bot', model }).map((g) => g.config.name);
    expect(names('input', 'platform')).toEqual(['a', 'c']);
    expect(names('output', 'platform')).toEqual(['a', 'b']);
    expect(names('input', 'platform', 'gpt-4o-mini')).toEqual(['a']);
    expect(names('input', 'hr')).toEqual([]);
  });

  it('without a policy, a flag blocks with 400 content_filter (action block) or is only recorded (action flag)', async () => {
    const blocking = externalGuardrailsStage({ config: () => [llama], env: {}, policyDecides: false, fetch: unsafe });
    const result = await blocking.onRequest!(ctxFor('bad words'));
    const error = (result as { respond: GatewayError }).respond;
    expect(error).toBeInstanceOf(GatewayError);
    expect([error.status, error.code, error.message]).toEqual([400, 'content_filter', 'The request was blocked by guardrail lg (S1).']);

    const flagging = externalGuardrailsStage({ config: () => [{ ...llama, action: 'flag' }], env: {}, policyDecides: false, fetch: unsafe });
    const ctx = ctxFor('bad words');
    expect(await flagging.onRequest!(ctx)).toBeUndefined();
    expect(ctx.guardrails?.lg).toMatchObject({ type: 'llama_guard', status: 'flagged', findings: { S1: { count: 1, score: 1 } } });
  });

  it('fails closed with 503 guardrail_unavailable, or open with status error, and counts both', async () => {
    const metrics = new GatewayMetrics();
    const broken = (async () => new Response('oops', { status: 502 })) as typeof fetch;
    const closed = externalGuardrailsStage({ config: () => [llama], env: {}, policyDecides: true, fetch: broken, metrics });
    const error = ((await closed.onRequest!(ctxFor('x'))) as { respond: GatewayError }).respond;
    expect([error.status, error.type, error.code]).toEqual([503, 'api_error', 'guardrail_unavailable']);
    const open = externalGuardrailsStage({ config: () => [{ ...llama, on_error: 'open' }], env: {}, policyDecides: true, fetch: broken, metrics });
    const ctx = ctxFor('x');
    expect(await open.onRequest!(ctx)).toBeUndefined();
    expect(ctx.guardrails?.lg).toMatchObject({ status: 'error', error: 'http_502', findings: {} });
    const text = await metrics.registry.metrics();
    expect(text).toContain('tollgate_guardrail_verdicts_total{guardrail="lg",direction="input",verdict="failed_closed"} 1');
    expect(text).toContain('tollgate_guardrail_verdicts_total{guardrail="lg",direction="input",verdict="failed_open"} 1');
  });

  it('runs the guardrails at once: the stage takes the slowest, not the sum', async () => {
    const slow: typeof fetch = (async (input: string | URL | Request) => {
      await new Promise((resolve) => setTimeout(resolve, 80));
      return String(input).includes('analyze') ? new Response('[]') : new Response(JSON.stringify({ choices: [{ message: { content: 'safe' } }] }));
    }) as typeof fetch;
    const stage = externalGuardrailsStage({ config: () => [llama, presidio, { ...llama, name: 'lg2' }], env: {}, policyDecides: true, fetch: slow });
    const started = performance.now();
    await stage.onRequest!(ctxFor('hello'));
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('merges Presidio values into the PII findings, the built-in detector winning overlaps, and redacts them', async () => {
    const content = 'I am John Smith, mail john@corp-mail.vn';
    const at = (value: string) => ({ start: content.indexOf(value), end: content.indexOf(value) + value.length });
    const fetchImpl = answering(() => [
      { entity_type: 'PERSON', ...at('John Smith'), score: 0.85 },
      // Overlaps the built-in email span: dropped, not counted twice.
      { entity_type: 'EMAIL_ADDRESS', ...at('john@corp-mail.vn'), score: 1 },
    ]);
    const stage = externalGuardrailsStage({ config: () => [presidio], env: {}, policyDecides: true, fetch: fetchImpl });
    const ctx = ctxFor(content);
    ctx.pii = detectPii(requestTexts(ctx.body!));
    await stage.onRequest!(ctx);
    expect(ctx.pii).toEqual({ total: 2, types: { email: 1, person_name: 1 } });
    const extra = ctx.externalPii?.get(content);
    expect(redactPii(content, new Set(['person_name', 'email']), undefined, extra)).toBe('I am [REDACTED_PERSON_NAME], mail [REDACTED_EMAIL]');
    expect(redactPii(content, new Set(['email']), undefined, extra)).toBe('I am John Smith, mail [REDACTED_EMAIL]');
  });
});

describe('guardrails.external config', () => {
  const base = `
providers: { openai: { type: openai, base_url: https://api.openai.com/v1 } }
models: { gpt-4o: { provider: openai } }
orgs: { acme: { teams: { hr: { apps: { bot: } } } } }
`;
  const problems = (yaml: string) => {
    try {
      parseConfigText(base + yaml, 'test.yaml');
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('fills defaults per type', () => {
    const config = parseConfigText(`${base}guardrails: { external: [{ name: cs, type: azure_content_safety, url: "https://x.cognitiveservices.azure.com" }] }`, 't');
    expect(config.guardrails.external[0]).toEqual({
      name: 'cs', type: 'azure_content_safety', url: 'https://x.cognitiveservices.azure.com', timeout_ms: 300, on_error: 'closed',
      applies_to: 'input', action: 'block', api_version: '2024-09-01', severity_threshold: 4,
    });
    expect(parseConfigText(base, 't').guardrails.external).toEqual([]);
  });

  it('rejects duplicate names, a timeout Envoy would not wait for, fields of another type and a missing model', () => {
    expect(problems(`guardrails: { external: [{ name: a, type: presidio, url: "http://p" }, { name: a, type: presidio, url: "http://p", timeout_ms: 5000 }] }`))
      .toEqual([
        'guardrails.external.1.name: "a" is used twice',
        'guardrails.external.1.timeout_ms: must be below envoy.message_timeout_ms (2000), or Envoy gives up first',
      ]);
    expect(problems(`guardrails: { external: [{ name: a, type: presidio, url: "http://p", severity_threshold: 2 }] }`).join()).toMatch(/severity_threshold/);
    expect(problems(`guardrails: { external: [{ name: a, type: presidio, url: "http://p", applies_to: output }] }`).length).toBeGreaterThan(0);
    expect(problems(`guardrails: { external: [{ name: a, type: llama_guard, url: "http://p" }] }`).join()).toMatch(/model/);
  });
});
