import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './free-port.ts';

/**
 * A real Jaeger v2 (an OpenTelemetry Collector distribution; scripts/setup builds it into .tools/bin) receiving
 * OTLP over gRPC and HTTP into its in-memory store, queried through its HTTP API. Every port is picked free, its own
 * telemetry is off, so tests can run several side by side.
 */
export interface Jaeger {
  /** OTLP/gRPC endpoint, `http://127.0.0.1:port`. */
  otlpGrpc: string;
  /** OTLP/HTTP traces URL, `http://127.0.0.1:port/v1/traces` (or the configured traces path). */
  otlpHttp: string;
  /** The trace as Jaeger's query API returns it; null while Jaeger does not know it. */
  trace(traceId: string): Promise<JaegerTrace | null>;
  /** Polls until `ready(trace)` holds (spans arrive in batches, Envoy's every few seconds). */
  waitForTrace(traceId: string, ready: (trace: JaegerTrace) => boolean, timeoutMs?: number): Promise<JaegerTrace>;
  stop(): Promise<void>;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; type: string; value: unknown }>;
  processID: string;
  startTime: number;
  duration: number;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const projectRoot = resolve(import.meta.dirname, '../..');

export interface JaegerOptions {
  /** The OTLP/HTTP receiver's traces path (default /v1/traces), e.g. Langfuse's /api/public/otel/v1/traces. */
  tracesPath?: string;
}

export async function startJaeger(options: JaegerOptions = {}): Promise<Jaeger> {
  const tracesPath = options.tracesPath ?? '/v1/traces';
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-jaeger-'));
  const [grpcPort, httpPort, queryPort, queryGrpcPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: { traces: { receivers: ['otlp'], processors: [], exporters: ['jaeger_storage_exporter'] } },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      jaeger_query: {
        storage: { traces: 'memstore' },
        http: { endpoint: `127.0.0.1:${queryPort}` },
        grpc: { endpoint: `127.0.0.1:${queryGrpcPort}` },
      },
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 10_000 } } } },
    },
    receivers: {
      otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` }, http: { endpoint: `127.0.0.1:${httpPort}`, traces_url_path: tracesPath } } },
    },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
  const configPath = join(dir, 'jaeger.yaml');
  await writeFile(configPath, stringify(config));
  const output: string[] = [];
  const child: ChildProcess = spawn(join(projectRoot, '.tools/bin/jaeger'), ['--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const queryUrl = `http://127.0.0.1:${queryPort}`;

  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((done) => setTimeout(done, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  // Ready once the query API answers (the receivers start before the extensions' servers report ready).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jaeger exited: ${output.join('')}`);
    const ok = await fetch(`${queryUrl}/api/services`).then((res) => res.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jaeger did not start: ${output.join('')}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }

  const trace = async (traceId: string): Promise<JaegerTrace | null> => {
    const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`jaeger query ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { data: JaegerTrace[] };
    return body.data[0] ?? null;
  };

  return {
    otlpGrpc: `http://127.0.0.1:${grpcPort}`,
    otlpHttp: `http://127.0.0.1:${httpPort}${tracesPath}`,
    trace,
    async waitForTrace(traceId, ready, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let last: JaegerTrace | null = null;
      while (Date.now() < until) {
        last = await trace(traceId);
        if (last && ready(last)) return last;
        await new Promise((done) => setTimeout(done, 200));
      }
      const seen = last ? last.spans.map((s) => `${last?.processes[s.processID]?.serviceName}:${s.operationName}`).join(', ') : 'nothing';
      throw new Error(`trace ${traceId} not complete after ${timeoutMs} ms; spans: ${seen}`);
    },
    stop,
  };
}

/** Helpers to read a Jaeger trace. */
export const spanTag = (span: JaegerSpan, key: string): unknown => span.tags.find((tag) => tag.key === key)?.value;
export const parentOf = (span: JaegerSpan): string | null => span.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID ?? null;
export const serviceOf = (trace: JaegerTrace, span: JaegerSpan): string | undefined => trace.processes[span.processID]?.serviceName;
