import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import { Catalog } from '../../../src/config/catalog.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import type { RequestContext } from '../../../src/pipeline/context.ts';
import { contextNeeded, requiredCapabilities } from '../../../src/routing/capabilities.ts';
import { capabilitiesStage } from '../../../src/stages/capabilities.ts';

const tool = { type: 'function', function: { name: 'f' } };

describe('what a request needs', () => {
  it('reads tools, images, JSON schemas and reasoning from the body', () => {
    expect(requiredCapabilities({ messages: [{ role: 'user', content: 'hi' }] })).toEqual([]);
    expect(requiredCapabilities({ tools: [tool] })).toEqual(['tools']);
    expect(requiredCapabilities({ tools: [] })).toEqual([]);
    expect(requiredCapabilities({ functions: [{ name: 'f' }] })).toEqual(['tools']);
    expect(requiredCapabilities({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })).toEqual(['vision']);
    expect(requiredCapabilities({ response_format: { type: 'json_schema', json_schema: { name: 'a' } } })).toEqual(['json_schema']);
    expect(requiredCapabilities({ response_format: { type: 'json_object' } })).toEqual([]);
    expect(requiredCapabilities({ reasoning_effort: 'low', tools: [tool] })).toEqual(['tools', 'reasoning']);
  });

  it('counts the context without the tokenizer when the body length already fits the smallest window', () => {
    const body = { messages: [{ role: 'user', content: 'word '.repeat(100) }], max_tokens: 50 };
    expect(contextNeeded(body, 600, 10_000)).toBe(650);
    const exact = contextNeeded(body, 600, 300);
    expect(exact).toBeGreaterThan(100);
    expect(exact).toBeLessThan(300);
  });
});

describe('capabilities stage', () => {
  const catalog = new Catalog(validateConfig({
    providers: { local: { type: 'openai', base_url: 'http://127.0.0.1:1/v1' }, cloud: { type: 'openai', base_url: 'http://127.0.0.1:2/v1' } },
    models: {
      mixed: { targets: [{ provider: 'local', model: 'small', capabilities: [], context_window: 200 }, { provider: 'cloud', model: 'big', capabilities: ['tools', 'vision'] }] },
      undeclared: { targets: [{ provider: 'local', model: 'small' }, { provider: 'cloud', model: 'big' }] },
    },
    orgs: { acme: { teams: { t: { apps: { a: {} } } } } },
  }));
  const stage = capabilitiesStage();
  const run = (model: string, body: Record<string, unknown>) => {
    const ctx = {
      endpoint: 'chat', model, body, bodyBytes: JSON.stringify(body).length,
      routing: { alias: model, candidates: catalog.candidates(model), excludedProviders: new Set<string>(), allowedRegions: null, reasons: [] as string[] },
    } as Partial<RequestContext> as RequestContext;
    const result = stage.onRequest?.(ctx);
    return { ctx, result: result as { respond?: GatewayError } | undefined };
  };

  it('excludes the candidates that do not declare what the request needs, with a reason', () => {
    const { ctx, result } = run('mixed', { messages: [{ role: 'user', content: 'hi' }], tools: [tool] });
    expect(result).toBeUndefined();
    expect([...ctx.routing.excludedProviders]).toEqual(['local']);
    expect(ctx.routing.reasons).toEqual(['local/small does not declare tools']);
  });

  it('leaves plain requests and undeclared models alone', () => {
    expect([...run('mixed', { messages: [{ role: 'user', content: 'hi' }] }).ctx.routing.excludedProviders]).toEqual([]);
    expect([...run('undeclared', { messages: [{ role: 'user', content: 'hi' }], tools: [tool] }).ctx.routing.excludedProviders]).toEqual([]);
  });

  it('answers 400 when nobody can: capability_not_supported with the field to change', () => {
    const { result } = run('mixed', { messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'a' } } });
    expect(result?.respond).toBeInstanceOf(GatewayError);
    expect(result?.respond).toMatchObject({ status: 400, code: 'capability_not_supported', param: 'response_format' });
  });

  it('skips a candidate whose context window is too small (prompt + max_tokens)', () => {
    const { ctx } = run('mixed', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 });
    expect([...ctx.routing.excludedProviders]).toEqual(['local']);
    expect(ctx.routing.reasons[0]).toContain('context window of 200 tokens');
  });
});
