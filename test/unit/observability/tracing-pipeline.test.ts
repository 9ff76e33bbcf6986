import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import { Tracing } from '../../../src/observability/tracing.ts';
import type { RequestContext } from '../../../src/pipeline/context.ts';
import type { PhaseReply } from '../../../src/pipeline/phases.ts';
import { createPipeline } from '../../../src/pipeline/runner.ts';
import type { Stage } from '../../../src/pipeline/stage.ts';

const logger = pino({ level: 'silent' });
const ENVOY_SPAN = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Runs one request through a pipeline; returns what the stages saw and the request phase's reply. */
async function oneRequest(tracing: Tracing | undefined, traceparent?: string) {
  const seen: Array<RequestContext['trace']> = [];
  const stages: Stage[] = [
    { name: 'first', onRequest: (ctx) => void seen.push(ctx.trace) },
    { name: 'second', onRequestHeaders: () => undefined, onRequest: () => undefined, onResponseEnd: () => undefined },
  ];
  const handler = createPipeline({ stages, logger, now: () => performance.now(), ...(tracing ? { tracing } : {}) })(traceparent);
  await handler.handle({ phase: 'request_headers', headers: new Map([[':method', 'POST'], [':path', '/v1/chat/completions']]), endOfStream: false });
  const reply = await handler.handle({ phase: 'request_body', body: Buffer.from('{"model":"m","messages":[]}'), endOfStream: true });
  await handler.handle({ phase: 'response_body', body: Buffer.from('{}'), endOfStream: true, status: 200 });
  handler.close(true);
  await new Promise((done) => setImmediate(done));
  return { trace: seen[0], reply: reply as PhaseReply & { responseHeaders?: Array<[string, string]> } };
}

describe('tracing in the request pipeline', () => {
  it('off: no trace on the request, no trace id header', async () => {
    const { trace, reply } = await oneRequest(undefined, ENVOY_SPAN);
    expect(trace).toBeNull();
    expect(reply.responseHeaders?.some(([name]) => name === 'x-tollgate-trace-id')).toBe(false);
  });

  it("on: continues Envoy's trace, names it in x-tollgate-trace-id, and exports the request span and one per stage hook", async () => {
    const bodies: Buffer[] = [];
    const sink = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((done) => sink.listen(0, '127.0.0.1', done));
    const config = validateConfig({
      providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } },
      models: { m: { provider: 'openai', kind: 'chat' } },
      orgs: { acme: { teams: { t: { apps: { a: {} } } } } },
      tracing: { enabled: true, exporter: { protocol: 'http', endpoint: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces` } },
    });
    const tracing = new Tracing(config.tracing, {}, logger);
    try {
      const { trace, reply } = await oneRequest(tracing, ENVOY_SPAN);
      expect(trace?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(reply.responseHeaders).toContainEqual(['x-tollgate-trace-id', '4bf92f3577b34da6a3ce929d0e0e4736']);
      await tracing.flush();
      const exported = Buffer.concat(bodies).toString('latin1');
      // The request span and one span per hook that ran (first: 1, second: 3); span names are plain bytes in protobuf.
      for (const name of ['stage first', 'stage second', 'tollgate.request']) expect(exported).toContain(name);
      expect(exported.split('stage second').length - 1).toBe(3);
      expect(exported.split('stage first').length - 1).toBe(1);
      // A parent that was not sampled: nothing of the request is recorded.
      const unsampled = await oneRequest(tracing, ENVOY_SPAN.replace(/01$/, '00'));
      expect(unsampled.trace).toBeNull();
    } finally {
      await tracing.shutdown();
      sink.close();
    }
  });
});
