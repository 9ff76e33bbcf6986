import { describe, expect, it } from 'vitest';
import { requestSpanAttributes } from '../../../src/observability/request-span.ts';
import type { RequestContext } from '../../../src/pipeline/context.ts';

/** The parts of a request the span reads; the rest of the context does not matter here. */
function context(overrides: Partial<RequestContext>): RequestContext {
  return {
    endpoint: 'chat', model: 'assistant', provider: null, upstreamModel: null, usage: null, tenant: null, policy: null,
    cacheStatus: null, response: { status: 200, streaming: false, bytes: 0 }, attemptCount: null, error: null, variant: null,
    routing: { alias: null, candidates: [], excludedProviders: new Set(), allowedRegions: null, reasons: [] },
    ...overrides,
  } as unknown as RequestContext;
}

describe('request span attributes', () => {
  it('carry the A/B variant and the routing strategy (issue 16: the variant is recorded in traces too)', () => {
    const attributes = requestSpanAttributes(context({
      variant: 'treatment',
      routing: { alias: 'small-model', candidates: [], excludedProviders: new Set(), allowedRegions: null, reasons: [], strategy: 'cost' },
    }));
    expect(attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'assistant', 'tollgate.variant': 'treatment', 'tollgate.routing.strategy': 'cost' });
  });

  it('leave them out when the request has none', () => {
    const attributes = requestSpanAttributes(context({}));
    expect(attributes).not.toHaveProperty('tollgate.variant');
    expect(attributes).not.toHaveProperty('tollgate.routing.strategy');
  });

  it("carry each choice's finish reason as a string array, and none when the answer gave none", () => {
    expect(requestSpanAttributes(context({ finishReasons: ['stop', 'length'] }))['gen_ai.response.finish_reasons']).toEqual(['stop', 'length']);
    expect(requestSpanAttributes(context({}))).not.toHaveProperty('gen_ai.response.finish_reasons');
  });
});
