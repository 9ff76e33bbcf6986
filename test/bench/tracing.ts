/**
 * Tracing benchmark (issue 15): what Tollgate's spans cost in CPU per request, in process.
 *
 * The request pipeline (src/pipeline/runner.ts) runs one chat request through as many stage hooks as the gateway's
 * stages have (3 onRequestHeaders, 14 onRequest, 6 onResponseEnd; the hooks themselves do nothing), driven by the
 * ext_proc phase events Envoy sends: request headers, body, one response body chunk. Three contenders, interleaved in
 * rounds so machine noise hits them alike:
 *   off     tracing not configured (no Tracing object: what every deployment without `tracing` runs)
 *   on      tracing on: a request span, a span per stage hook (23), GenAI attributes, encoded to OTLP protobuf and
 *           exported in batches over OTLP/HTTP to a sink in another process (its CPU is not counted; the encoding is)
 *   on-grpc the same exporting OTLP/gRPC
 * CPU per request = this process's user + system CPU over a block of requests, after the spans of the block were
 * exported (forceFlush), so batching and encoding are in the figure. Spans per request and bytes exported are
 * reported too.
 *
 *   node_modules/.bin/node test/bench/tracing.ts      → test/bench/results/tracing.json
 *
 * Env (optional): BENCH_REQUESTS=20000 (per contender) BENCH_BLOCK=2000 BENCH_OUT=FILE
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import { validateConfig } from '../../src/config/load-config.ts';
import { Tracing } from '../../src/observability/tracing.ts';
import { createPipeline } from '../../src/pipeline/runner.ts';
import type { StreamHandlerFactory } from '../../src/pipeline/phases.ts';
import type { Stage } from '../../src/pipeline/stage.ts';
import { commandLine, machineInfo, versions as readVersions } from './lib/run-info.ts';

const projectRoot = resolve(import.meta.dirname, '../..');
const numberEnv = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const REQUESTS = numberEnv('BENCH_REQUESTS', 20_000);
const BLOCK = Math.min(REQUESTS, numberEnv('BENCH_BLOCK', 2_000));
const OUT = resolve(process.env.BENCH_OUT ?? join(projectRoot, 'test/bench/results/tracing.json'));

const HOOKS = { onRequestHeaders: 3, onRequest: 14, onResponseEnd: 6 };
const STAGE_COUNT = 20;

/** Stages that do nothing, with the gateway's number of hooks of each kind (the cost measured is the spans'). */
function stages(): Stage[] {
  return Array.from({ length: STAGE_COUNT }, (_, i) => ({
    name: `stage-${i}`,
    ...(i < HOOKS.onRequestHeaders ? { onRequestHeaders: () => undefined } : {}),
    ...(i < HOOKS.onRequest ? { onRequest: (ctx) => { ctx.model = 'gpt-4o-mini'; ctx.endpoint = 'chat'; } } : {}),
    ...(i >= STAGE_COUNT - HOOKS.onResponseEnd ? { onResponseEnd: () => undefined } : {}),
  } satisfies Stage));
}

const HEADERS = new Map([[':method', 'POST'], [':path', '/v1/chat/completions'], ['content-type', 'application/json']]);
const BODY = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }));
const ANSWER = Buffer.from(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } }));
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

async function oneRequest(newHandler: StreamHandlerFactory, i: number): Promise<void> {
  const handler = newHandler(TRACEPARENT);
  const headers = new Map(HEADERS);
  headers.set('x-request-id', `req-${i}`);
  await handler.handle({ phase: 'request_headers', headers, endOfStream: false });
  await handler.handle({ phase: 'request_body', body: BODY, endOfStream: true });
  await handler.handle({ phase: 'response_body', body: ANSWER, endOfStream: true, status: 200 });
  handler.close(true);
}

/** An OTLP sink in another process (its CPU is not this process's): HTTP answers 200; gRPC answers an empty reply. */
function startSink(): Promise<{ child: ChildProcess; http: number; grpc: number; bytes: () => Promise<number> }> {
  const child = fork(join(import.meta.dirname, 'lib/otlp-sink.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((done) => child.once('message', (ports: { http: number; grpc: number }) => done({
    child, ...ports,
    bytes: () => new Promise((got) => {
      child.once('message', (count: { bytes: number }) => got(count.bytes));
      child.send('bytes');
    }),
  })));
}

interface Contender {
  name: string;
  newHandler: StreamHandlerFactory;
  flush: () => Promise<void>;
  cpuUs: number;
  requests: number;
}

const logger = pino({ level: 'silent' });
const flushFor = (tracing: Tracing) => tracing.flush();

async function main() {
  const sink = await startSink();
  const tracingFor = async (protocol: 'http' | 'grpc') => {
    const config = validateConfig({
      providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } },
      models: { 'gpt-4o-mini': { provider: 'openai', kind: 'chat' } },
      orgs: { acme: { teams: { platform: { apps: { a: {} } } } } },
      tracing: {
        enabled: true,
        exporter: { protocol, endpoint: protocol === 'http' ? `http://127.0.0.1:${sink.http}/v1/traces` : `http://127.0.0.1:${sink.grpc}` },
        batch: { max_queue_size: 65_536, max_export_batch_size: 2048 },
      },
    });
    return new Tracing(config.tracing, {}, logger);
  };
  const httpTracing = await tracingFor('http');
  const grpcTracing = await tracingFor('grpc');
  const base = { stages: stages(), logger, now: () => performance.timeOrigin + performance.now() };
  const contenders: Contender[] = [
    { name: 'off', newHandler: createPipeline(base), flush: async () => undefined, cpuUs: 0, requests: 0 },
    { name: 'on', newHandler: createPipeline({ ...base, tracing: httpTracing }), flush: () => flushFor(httpTracing), cpuUs: 0, requests: 0 },
    { name: 'on-grpc', newHandler: createPipeline({ ...base, tracing: grpcTracing }), flush: () => flushFor(grpcTracing), cpuUs: 0, requests: 0 },
  ];
  // Warm-up: V8 optimises every path before anything is measured.
  for (const contender of contenders) {
    for (let i = 0; i < 2000; i++) await oneRequest(contender.newHandler, i);
    await contender.flush();
  }
  const bytesBefore = await sink.bytes();
  let exportedBytesOn = 0;
  for (let round = 0; round * BLOCK < REQUESTS; round++) {
    const order = [...contenders.slice(round % 3), ...contenders.slice(0, round % 3)];
    for (const contender of order) {
      const sinkBefore = contender.name === 'on' ? await sink.bytes() : 0;
      const before = process.cpuUsage();
      for (let i = 0; i < BLOCK; i++) await oneRequest(contender.newHandler, i);
      // The end phases run on microtasks after the last reply; then the block's spans are exported.
      await new Promise((done) => setImmediate(done));
      await contender.flush();
      const used = process.cpuUsage(before);
      contender.cpuUs += used.user + used.system;
      contender.requests += BLOCK;
      if (contender.name === 'on') exportedBytesOn += (await sink.bytes()) - sinkBefore;
    }
  }
  const perRequest = Object.fromEntries(contenders.map((c) => [c.name, Math.round((c.cpuUs / c.requests) * 100) / 100]));
  const off = perRequest.off as number;
  const results = {
    benchmark: 'tracing',
    date: new Date().toISOString(),
    machine: machineInfo(),
    versions: readVersions(projectRoot),
    command: commandLine(projectRoot),
    method: 'in process: the request pipeline with the gateway\'s hook counts (no-op hooks), off vs on (OTLP/HTTP-protobuf and OTLP/gRPC to a sink in another process), interleaved blocks; CPU includes the batch export (forceFlush per block)',
    requests_per_contender: REQUESTS,
    block: BLOCK,
    spans_per_request: 1 + HOOKS.onRequestHeaders + HOOKS.onRequest + HOOKS.onResponseEnd,
    cpu_us_per_request: perRequest,
    tracing_cost_us_per_request: {
      http: Math.round(((perRequest.on as number) - off) * 100) / 100,
      grpc: Math.round(((perRequest['on-grpc'] as number) - off) * 100) / 100,
    },
    exported_bytes_per_request_http: Math.round(exportedBytesOn / (contenders[1] as Contender).requests),
    sink_bytes_total: (await sink.bytes()) - bytesBefore,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  await writeFile(OUT, JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results.cpu_us_per_request), JSON.stringify(results.tracing_cost_us_per_request));
  await httpTracing.shutdown();
  await grpcTracing.shutdown();
  sink.child.kill();
}

await main();
