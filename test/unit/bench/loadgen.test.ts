import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadgenBinary, runLoadgen, toClosedLoadResult, toFixedLoadResult } from '../../bench/lib/loadgen.ts';

/**
 * The peer benchmark's Go load generator (test/bench/loadgen), built with `go build` and run briefly against a tiny
 * HTTP server that records every body: what it counts must be what the server saw, and every body must differ.
 */
const bodies: string[] = [];
const contentTypes = new Set<string>();
let server: Server;
let url: string;

beforeAll(async () => {
  loadgenBinary(); // the first build takes a few seconds
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => {
      bodies.push(body);
      contentTypes.add(String(req.headers['content-type']));
      // Every 10th request of a run fails: counted as an error by status.
      if (/-\d{5}7"/.test(body)) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: body.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const TEMPLATE = '{"model":"m","messages":[{"role":"user","content":"hello {{n}}"}]}';

describe('loadgen, open loop', () => {
  it('sends rate × duration unique requests after the warm-up, timed from their schedule, and reports the failures', async () => {
    bodies.length = 0;
    const seen: Record<string, number> = {};
    const out = await runLoadgen({
      url, mode: 'open', rate: 200, durationMs: 500, warmupMs: 200, body: TEMPLATE, unique: true, tag: 'ut',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      onReady: () => { seen.ready = bodies.length; },
      onDone: () => { seen.done = bodies.length; },
    });
    // The hooks run between the phases: the warm-up's 40 requests, then the measured 100.
    expect(seen).toEqual({ ready: 40, done: 140 });
    expect(bodies).toHaveLength(140);
    expect(new Set(bodies).size).toBe(140);
    expect(bodies[0]).toBe(TEMPLATE.replace('{{n}}', 'wut-000000'));
    expect(bodies[40]).toBe(TEMPLATE.replace('{{n}}', 'ut-000000'));
    expect(bodies[139]).toBe(TEMPLATE.replace('{{n}}', 'ut-000099'));
    expect(contentTypes).toEqual(new Set(['application/json']));

    expect(out).toMatchObject({ mode: 'open', scheduled: 100, requests: 100, ok: 90, errors: 10, errors_by_status: { 503: 10 }, errors_by_transport: {} });
    expect(out.error_samples[0]).toMatch(/^503 .*busy/);
    expect(out.request_bytes).toEqual({ min: TEMPLATE.length + 4, max: TEMPLATE.length + 4 });
    expect(out.latency_ms.count).toBe(90);
    // From the schedule ≥ from the send; the pacing itself is close to on time.
    expect(out.latency_ms.p50).toBeGreaterThanOrEqual(out.service_ms.p50 as number);
    expect(out.send_lag_ms.p50).toBeLessThan(5);
    expect(out.achieved_rps).toBeGreaterThan(150);
    expect(out.cpu_ms).toBeGreaterThan(0);

    const fixed = toFixedLoadResult(out);
    expect(fixed).toMatchObject({ rps: 200, scheduled: 100, ok: 90, errorCount: 10, statuses: { 503: 10 }, unanswered: 0 });
    expect(fixed.latency.p99).toBe(out.latency_ms.p99);
  });

  it('counts a refused connection as a transport error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const out = await runLoadgen({ url: `http://127.0.0.1:${port}/`, mode: 'open', rate: 50, durationMs: 100, body: '{}' });
    expect(out.ok).toBe(0);
    expect(out.errors).toBe(5);
    expect(Object.keys(out.errors_by_transport).join()).toContain('connection refused');
  });
});

describe('loadgen, closed loop', () => {
  it('keeps every connection busy and counts exactly what the server answered', async () => {
    bodies.length = 0;
    const out = await runLoadgen({ url, mode: 'closed', connections: 4, durationMs: 300, body: TEMPLATE, unique: true, tag: 'cl' });
    expect(out.requests).toBe(bodies.length);
    expect(out.ok + out.errors).toBe(out.requests);
    expect(out.requests).toBeGreaterThan(50);
    expect(new Set(bodies).size).toBe(bodies.length);
    expect(out.connections_opened).toBe(4);
    expect(out.errors_by_status['503']).toBe(bodies.filter((body) => /-\d{5}7"/.test(body)).length);
    const closedLoad = toClosedLoadResult(out);
    expect(closedLoad.connections).toBe(4);
    expect(closedLoad.errorRate).toBeCloseTo(out.errors / out.requests, 3);
  });
});
