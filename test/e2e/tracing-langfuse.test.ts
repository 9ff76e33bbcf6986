import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, testConfig, type Harness } from '../helpers/gateway-harness.ts';
import { serviceOf, spanTag, startJaeger, type Jaeger } from '../helpers/jaeger.ts';

/**
 * Langfuse's OTLP endpoint, as its docs give it: OTLP/HTTP (protobuf) at <host>/api/public/otel/v1/traces, with
 * `Authorization: Basic base64(public key:secret key)`; it has no OTLP/gRPC. Langfuse itself does not run here (no
 * offline distribution), so its front is played by a small proxy that checks the path and the credentials the way
 * Langfuse's API does and forwards accepted exports to a real Jaeger v2 receiving on the same path. Both exporters,
 * Tollgate's and Envoy's, must get through it with nothing but config.
 */
const LANGFUSE_PATH = '/api/public/otel/v1/traces';
const PUBLIC_KEY = 'pk-lf-0123456789';
const SECRET_KEY = 'sk-lf-abcdefghij';
const AUTHORIZATION = `Basic ${Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64')}`;
const CLIENT_TRACE = '5bf92f3577b34da6a3ce929d0e0e4737';

interface Front { url: string; accepted: Array<{ userAgent: string; contentType: string }>; rejected: string[]; close(): Promise<void> }

async function startLangfuseFront(jaeger: Jaeger): Promise<Front> {
  const target = new URL(jaeger.otlpHttp);
  const accepted: Front['accepted'] = [];
  const rejected: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const why = req.method !== 'POST' ? 'method' : req.url !== LANGFUSE_PATH ? `path ${req.url}` : req.headers.authorization !== AUTHORIZATION ? 'credentials' : null;
    if (why) {
      rejected.push(why);
      req.resume();
      res.writeHead(why === 'credentials' ? 401 : 404, { 'content-type': 'application/json' }).end('{"message":"Unauthorized"}');
      return;
    }
    accepted.push({ userAgent: String(req.headers['user-agent'] ?? ''), contentType: String(req.headers['content-type'] ?? '') });
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': String(answer.headers['content-type'] ?? 'application/x-protobuf') });
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted,
    rejected,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tracing to a Langfuse-shaped OTLP endpoint (HTTP/protobuf, Basic auth, /api/public/otel)', () => {
  let jaeger: Jaeger;
  let front: Front;
  let h: Harness;

  beforeAll(async () => {
    jaeger = await startJaeger({ tracesPath: LANGFUSE_PATH });
    front = await startLangfuseFront(jaeger);
    const config = testConfig();
    config.tracing = {
      enabled: true,
      exporter: { protocol: 'http', endpoint: `${front.url}${LANGFUSE_PATH}`, headers: { authorization: AUTHORIZATION } },
      batch: { scheduled_delay_ms: 50 },
    };
    h = await startHarness({ config });
  });
  afterAll(async () => {
    await h?.stop();
    await front?.close();
    await jaeger?.stop();
  });

  it('delivers Tollgate\'s and Envoy\'s spans of one request, authenticated, as OTLP/protobuf', async () => {
    const { data } = await h.client(h.key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Trace me to Langfuse' }] }, { headers: { traceparent: `00-${CLIENT_TRACE}-00f067aa0ba902b7-01` } })
      .withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    const trace = await jaeger.waitForTrace(CLIENT_TRACE, (t) =>
      t.spans.some((s) => serviceOf(t, s) === 'tollgate' && spanTag(s, 'gen_ai.request.model') === 'gpt-4o-mini')
      && t.spans.some((s) => serviceOf(t, s) === 'tollgate-envoy'));
    expect(trace.spans.length).toBeGreaterThan(2);
    expect(front.rejected).toEqual([]);
    expect(front.accepted.length).toBeGreaterThan(0);
    for (const exportRequest of front.accepted) expect(exportRequest.contentType).toBe('application/x-protobuf');
    expect(JSON.stringify(trace)).not.toContain('Trace me to Langfuse');
  });
});
