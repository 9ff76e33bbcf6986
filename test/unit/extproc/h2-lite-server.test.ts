import http2 from 'node:http2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyMessage, call, connect, grpcMessage, headersMessage, responseBodyMessage, startTestServer, type TestServer } from './ext-proc-peer.ts';

/** The h2-lite ext_proc transport, driven by Node's own HTTP/2 client in Envoy's place. */
describe('h2-lite ext_proc transport', () => {
  let t: TestServer;
  let sessions: http2.ClientHttp2Session[];
  const open = async (options: http2.ClientSessionOptions = {}) => {
    const session = await connect(t.url, options);
    sessions.push(session);
    return session;
  };

  beforeEach(async () => {
    t = await startTestServer();
    sessions = [];
  });
  afterEach(async () => {
    for (const session of sessions) session.destroy();
    await t.server.stop();
  });

  it('answers each message in order, then grpc-status 0 in trailers; the handler learns the call completed', async () => {
    const session = await open();
    const { result } = call(session, [headersMessage(), bodyMessage(Buffer.from('{"a":1}')), responseBodyMessage(Buffer.from('done'))]);
    const r = await result;
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.responses.map((response) => response.response)).toEqual(['request_headers', 'request_body', 'response_body']);
    expect(r.responses[1]?.request_body?.response?.body_mutation?.body?.toString()).toBe('{"a":1}');
    expect(t.handlers).toHaveLength(1);
    expect(t.handlers[0]?.events.map((e) => e.phase)).toEqual(['request_headers', 'request_body', 'response_body']);
    await expect.poll(() => t.handlers[0]?.closed).toBe(true);
  });

  it('ends the call with the answer to the end of the response, before Envoy half-closes', async () => {
    const session = await open();
    const { stream } = call(session, [headersMessage(), bodyMessage(Buffer.from('{}')), responseBodyMessage(Buffer.from('done'))], { end: false });
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on('trailers', resolve));
    expect(trailers['grpc-status']).toBe('0');
    // The session ends when Envoy closes its side, as with the other transports.
    await new Promise((r) => setTimeout(r, 50));
    expect(t.handlers[0]?.closed).toBe(null);
    stream.end();
    await expect.poll(() => t.handlers[0]?.closed).toBe(true);
  });

  it('picks the handler from x-tollgate-filter', async () => {
    const session = await open();
    const upstream = await call(session, [headersMessage()], { role: 'upstream' }).result;
    const request = await call(session, [headersMessage()]).result;
    const role = (r: typeof upstream) => r.responses[0]?.request_headers?.response?.header_mutation?.set_headers[0]?.header?.raw_value?.toString();
    expect(role(upstream)).toBe('upstream');
    expect(role(request)).toBe('request');
  });

  it('ends a call without messages with a trailers-only OK', async () => {
    const session = await open();
    const r = await call(session, []).result;
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['grpc-status']).toBe('0');
    expect(r.data.length).toBe(0);
  });

  it('answers an unknown method with grpc-status 12 and creates no handler', async () => {
    const session = await open();
    const r = await call(session, [headersMessage()], { path: '/envoy.service.ext_proc.v3.ExternalProcessor/Nope' }).result;
    expect(r.headers['grpc-status']).toBe('12');
    expect(r.headers['grpc-message']).toBe('unknown method');
    expect(t.handlers).toHaveLength(0);
    // The connection is still good.
    expect((await call(session, [headersMessage()]).result).trailers['grpc-status']).toBe('0');
  });

  it('carries a large request message over many DATA frames, replenishing both receive windows', async () => {
    const session = await open();
    // 12 MiB: past the 4 MiB stream window and the 16 MiB connection window's replenish point (8 MiB).
    const body = Buffer.alloc(12 * 1024 * 1024, 7);
    body.write('start');
    const r = await call(session, [bodyMessage(body)]).result;
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.responses[0]?.request_body?.response?.header_mutation?.set_headers[1]?.header?.raw_value?.toString()).toBe(String(body.length));
    const seen = t.handlers[0]?.events[0];
    expect(seen?.phase === 'request_body' && seen.body.equals(body)).toBe(true);
  });

  it('splits a large response into frames within the peer window, waiting for WINDOW_UPDATEs', async () => {
    // A 1 KiB stream window and the default 64 KiB connection window, with a 300 KiB answer.
    const session = await open({ settings: { initialWindowSize: 1024 } });
    const body = Buffer.alloc(300 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const r = await call(session, [bodyMessage(body)]).result;
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.responses[0]?.request_body?.response?.body_mutation?.body?.equals(body)).toBe(true);
    expect(Math.max(...r.chunks)).toBeLessThanOrEqual(16_384);
  });

  it('honours a window raised by SETTINGS while data waits', async () => {
    const session = await open({ settings: { initialWindowSize: 0 } });
    const body = Buffer.alloc(50_000, 1);
    const { result } = call(session, [bodyMessage(body)]);
    await expect.poll(() => t.handlers[0]?.events.length).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    session.settings({ initialWindowSize: 65_535 });
    const r = await result;
    expect(r.responses[0]?.request_body?.response?.body_mutation?.body?.length).toBe(body.length);
  });

  it('serves many concurrent streams on one connection', async () => {
    const session = await open();
    const calls = Array.from({ length: 300 }, (_, i) =>
      call(session, [headersMessage(`/v1/${i}`), bodyMessage(Buffer.from(`body ${i}`)), responseBodyMessage(Buffer.from('x'))]).result);
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      expect(r.trailers['grpc-status']).toBe('0');
      expect(r.responses[1]?.request_body?.response?.body_mutation?.body?.toString()).toBe(`body ${i}`);
    });
    await expect.poll(() => t.handlers.filter((h) => h.closed === true).length).toBe(300);
  });

  it('aborts the session of a stream the client resets (RST_STREAM)', async () => {
    const session = await open();
    const { stream } = call(session, [headersMessage()], { end: false });
    await new Promise((resolve) => stream.once('data', resolve));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await expect.poll(() => t.handlers[0]?.closed).toBe(false);
    // Other streams on the connection are unaffected.
    expect((await call(session, [headersMessage()]).result).trailers['grpc-status']).toBe('0');
  });

  it('aborts the sessions of a connection that drops', async () => {
    const session = await open();
    call(session, [headersMessage()], { end: false }).result.catch(() => {});
    await expect.poll(() => t.handlers.length).toBe(1);
    session.destroy();
    await expect.poll(() => t.handlers[0]?.closed).toBe(false);
  });

  it('acknowledges PINGs', async () => {
    const session = await open();
    const payload = Buffer.from('12345678');
    const echoed = await new Promise<Buffer>((resolve, reject) =>
      session.ping(payload, (error, _duration, ack) => (error ? reject(error) : resolve(ack))));
    expect(echoed.equals(payload)).toBe(true);
  });

  it('accepts padded DATA and HEADERS', async () => {
    const session = await open({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    const r = await call(session, [headersMessage(), bodyMessage(Buffer.from('padded'))]).result;
    expect(r.responses[1]?.request_body?.response?.body_mutation?.body?.toString()).toBe('padded');
  });

  it('decodes request headers split into CONTINUATION frames', async () => {
    const session = await open();
    // 40 KB of header value: more than one 16 KiB frame, so the client continues the block in CONTINUATION frames.
    const r = await call(session, [headersMessage()], { role: 'upstream', headers: { 'x-big': 'v'.repeat(40_000) } }).result;
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.responses[0]?.request_headers?.response?.header_mutation?.set_headers[0]?.header?.raw_value?.toString()).toBe('upstream');
    expect(t.handlers).toHaveLength(1);
  });

  it('on stop, sends GOAWAY and lets the streams in flight finish', async () => {
    const session = await open();
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    // A call Envoy has not finished yet (not half-closed).
    const inFlight = call(session, [headersMessage()], { end: false });
    await expect.poll(() => t.handlers.length).toBe(1);
    let stopped = false;
    const stopping = t.server.stop().then(() => (stopped = true));
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    inFlight.stream.write(grpcMessage(bodyMessage(Buffer.from('late'))));
    inFlight.stream.end();
    const r = await inFlight.result;
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.responses.map((response) => response.response)).toEqual(['request_headers', 'request_body']);
    await stopping;
    expect(stopped).toBe(true);
    t = { ...t, server: { port: 0, stop: async () => {} } };
  });
});
