import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-provider.ts';
import { freePort } from '../helpers/free-port.ts';
import { PLACEHOLDER_URL, PROVIDER_KEY, startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { parentOf, serviceOf, spanTag, startJaeger, type Jaeger, type JaegerSpan, type JaegerTrace } from '../helpers/jaeger.ts';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId: string) => `00-${traceId}-${CLIENT_SPAN}-01`;

/** Envoy's spans, Tollgate's request span, and a parent→children index of the trace. */
function shape(trace: JaegerTrace) {
  const envoy = trace.spans.filter((s) => serviceOf(trace, s) === 'tollgate-envoy');
  const tollgate = trace.spans.filter((s) => serviceOf(trace, s) === 'tollgate');
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const ancestors = (span: JaegerSpan): string[] => {
    const chain: string[] = [];
    for (let parent = parentOf(span); parent; parent = byId.get(parent) ? parentOf(byId.get(parent) as JaegerSpan) : null) chain.push(parent);
    return chain;
  };
  const request = tollgate.find((s) => spanTag(s, 'tollgate.request_id') !== undefined && !s.operationName.startsWith('stage') && s.operationName !== 'attempt');
  return { envoy, tollgate, request, ancestors, byId };
}

/** gen_ai.response.finish_reasons, a string array in OTLP; Jaeger's query API shows an array attribute as JSON text. */
function finishReasons(span: JaegerSpan): unknown {
  const value = spanTag(span, 'gen_ai.response.finish_reasons');
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/**
 * Traces end to end through real Envoy and a real Jaeger v2 (OTLP receiver + query API): one trace per request with
 * Envoy's server span, Tollgate's request and stage spans under it, and one span per upstream attempt — a fallback
 * shows two. Run once with OTLP/gRPC and once with OTLP/HTTP (Tollgate and Envoy both use the configured one).
 */
describe.each(['grpc', 'http'] as const)('tracing over OTLP/%s', (protocol) => {
  let jaeger: Jaeger;
  let h: Harness;
  let backup: FakeOpenAI;
  let dir: string;

  beforeAll(async () => {
    jaeger = await startJaeger();
    backup = await startFakeOpenAI({ apiKey: PROVIDER_KEY });
    dir = await mkdtemp(join(tmpdir(), 'tollgate-tracing-e2e-'));
    const config = testConfig();
    const dead = await freePort();
    config.providers = {
      openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' },
      // Nothing listens here: the first attempt of `chain` fails and Envoy falls back to `backup`.
      dead: { type: 'openai', base_url: `http://127.0.0.1:${dead}/v1`, api_key_env: 'TEST_OPENAI_KEY' },
      backup: { type: 'openai', base_url: backup.url, api_key_env: 'TEST_OPENAI_KEY' },
    };
    config.models = {
      ...(config.models as object),
      chain: { kind: 'chat', targets: [{ provider: 'dead', model: 'gpt-4o' }, { provider: 'backup', model: 'gpt-4o-mini' }] },
    };
    config.routing = { retries: { max: 0 } };
    config.ledger = { sink: { type: 'sqlite', path: join(dir, 'ledger.sqlite') }, flush_interval_ms: 20 };
    config.tracing = {
      enabled: true,
      exporter: { protocol, endpoint: protocol === 'grpc' ? jaeger.otlpGrpc : jaeger.otlpHttp, headers: { 'x-test-auth': 'Basic dGVzdDp0ZXN0' } },
      batch: { scheduled_delay_ms: 50 },
      // The HTTP run keeps traces away from providers.
      propagate_to_providers: protocol === 'grpc',
    };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await backup?.close();
    await jaeger?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("continues the client's trace: Envoy's server span, Tollgate's request span and a span per stage, one trace", async () => {
    const { data, response } = await h.client(h.key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Trace me' }] }, { headers: { traceparent: traceparent(CLIENT_TRACE) } })
      .withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('x-tollgate-trace-id')).toBe(CLIENT_TRACE);

    const trace = await jaeger.waitForTrace(CLIENT_TRACE, (t) => {
      const s = shape(t);
      return s.envoy.some((span) => parentOf(span) === CLIENT_SPAN) && s.request !== undefined && s.tollgate.some((span) => span.operationName === 'stage ledger')
        // (Envoy's span of the ext_proc call, the request span's parent, may be exported later than the rest.)
        && s.envoy.some((span) => parentOf(span) === CLIENT_SPAN && s.ancestors(s.request as JaegerSpan).includes(span.spanID));
    });
    const { envoy, tollgate, request, ancestors } = shape(trace);
    // Envoy's server span continues the client's span; its router opened a span for the one upstream attempt.
    const server = envoy.find((s) => parentOf(s) === CLIENT_SPAN);
    expect(server).toBeDefined();
    const upstream = envoy.filter((s) => s !== server && parentOf(s) === server?.spanID && spanTag(s, 'upstream_cluster') === 'provider_openai');
    expect(upstream).toHaveLength(1);
    // Tollgate's request span sits under Envoy's server span (through Envoy's span for the ext_proc call).
    expect(request).toBeDefined();
    const req = request as JaegerSpan;
    expect(ancestors(req)).toContain(server?.spanID);
    expect(req.operationName).toBe('chat gpt-4o-mini');
    expect(spanTag(req, 'gen_ai.operation.name')).toBe('chat');
    expect(spanTag(req, 'gen_ai.request.model')).toBe('gpt-4o-mini');
    expect(spanTag(req, 'gen_ai.response.model')).toBe('gpt-4o-mini');
    expect(spanTag(req, 'gen_ai.provider.name')).toBe('openai');
    expect(spanTag(req, 'gen_ai.usage.input_tokens')).toBe(data.usage?.prompt_tokens);
    expect(spanTag(req, 'gen_ai.usage.output_tokens')).toBe(data.usage?.completion_tokens);
    expect(finishReasons(req)).toEqual([data.choices[0]?.finish_reason]);
    expect(spanTag(req, 'tollgate.team')).toBe('platform');
    expect(spanTag(req, 'tollgate.cache.status')).toBeDefined();
    expect(spanTag(req, 'http.response.status_code')).toBe(200);
    // One span per stage hook, children of the request span.
    const stages = tollgate.filter((s) => s.operationName.startsWith('stage '));
    expect(stages.map((s) => s.operationName)).toEqual(expect.arrayContaining(['stage auth', 'stage validate', 'stage route', 'stage quota', 'stage ledger']));
    for (const stage of stages) expect(parentOf(stage)).toBe(req.spanID);
    // No prompt text anywhere in the trace.
    expect(JSON.stringify(trace)).not.toContain('Trace me');

    // The provider got the attempt's trace context (gRPC run) or none at all (HTTP run: propagate_to_providers off).
    const sent = h.fake.requests.at(-1)?.headers.traceparent;
    if (protocol === 'grpc') expect(sent).toMatch(new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-01$`));
    else expect(sent).toBeUndefined();

    // The usage record names the trace.
    const requestId = response.headers.get('x-tollgate-request-id') as string;
    await expect.poll(async () => (await h.tollgate.ledger?.sink.get(requestId))?.traceId, { timeout: 5000 }).toBe(CLIENT_TRACE);
  });

  it('names why the answer ended (gen_ai.response.finish_reasons) for streamed chat, Responses and Messages requests', async () => {
    const traces = ['1', '2', '3'].map((n) => n.repeat(32));
    const stream = await h.client(h.key).chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Stream me' }], stream: true }, { headers: { traceparent: traceparent(traces[0] as string) } });
    const streamed: string[] = [];
    for await (const chunk of stream) for (const choice of chunk.choices) if (choice.finish_reason) streamed.push(choice.finish_reason);
    expect(streamed).toEqual(['stop']);
    const response = await h.client(h.key).responses.create({ model: 'gpt-4o-mini', input: 'Respond' }, { headers: { traceparent: traceparent(traces[1] as string) } });
    expect(response.status).toBe('completed');
    const messages = await fetch(`${h.baseUrl}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': h.key, 'anthropic-version': '2023-06-01', traceparent: traceparent(traces[2] as string) },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'Message me' }] }),
    });
    expect(messages.status).toBe(200);
    expect(((await messages.json()) as { stop_reason: string }).stop_reason).toBe('end_turn');
    for (const traceId of traces) {
      const trace = await jaeger.waitForTrace(traceId, (t) => shape(t).request !== undefined);
      expect(finishReasons(shape(trace).request as JaegerSpan)).toEqual(['stop']);
    }
  });

  it('shows a fallback as two attempts: two upstream spans in Envoy, two attempt spans in Tollgate, the first failed', async () => {
    const { response } = await h.client(h.key)
      .chat.completions.create({ model: 'chain', messages: [{ role: 'user', content: 'Fall back' }] })
      .withResponse();
    const traceId = response.headers.get('x-tollgate-trace-id') as string;
    // No traceparent from the client: the trace starts at Envoy, and Tollgate's id is its id.
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const trace = await jaeger.waitForTrace(traceId, (t) => {
      const s = shape(t);
      return s.envoy.some((span) => parentOf(span) === null)
        && s.envoy.filter((span) => String(spanTag(span, 'upstream_cluster') ?? '').startsWith('chain_')).length >= 2
        && s.tollgate.filter((span) => span.operationName === 'attempt').length >= 2 && s.request !== undefined
        // Envoy exports its span of the ext_proc call (the request span's parent) on its own schedule: wait for it too.
        && s.envoy.some((span) => parentOf(span) === null && s.ancestors(s.request as JaegerSpan).includes(span.spanID));
    });
    const { envoy, tollgate, request, ancestors } = shape(trace);
    const server = envoy.find((s) => parentOf(s) === null);
    expect(server).toBeDefined();
    const upstream = envoy.filter((s) => parentOf(s) === server?.spanID && String(spanTag(s, 'upstream_cluster') ?? '').startsWith('chain_'));
    expect(upstream).toHaveLength(2);
    const attempts = tollgate.filter((s) => s.operationName === 'attempt').sort((a, b) => a.startTime - b.startTime);
    expect(attempts.map((s) => spanTag(s, 'tollgate.provider'))).toEqual(['dead', 'backup']);
    expect(spanTag(attempts[0] as JaegerSpan, 'error')).toBe(true);
    expect(spanTag(attempts[1] as JaegerSpan, 'http.response.status_code')).toBe(200);
    // Each attempt span hangs right under its own attempt span in Envoy.
    const upstreamIds = new Set(upstream.map((s) => s.spanID));
    expect(new Set(attempts.map((s) => parentOf(s)))).toEqual(upstreamIds);
    expect(ancestors(request as JaegerSpan)).toContain(server?.spanID);
    expect(spanTag(request as JaegerSpan, 'gen_ai.provider.name')).toBe('openai');
    expect(spanTag(request as JaegerSpan, 'tollgate.provider')).toBe('backup');
    expect(spanTag(request as JaegerSpan, 'tollgate.attempts')).toBe(2);
  });
});
