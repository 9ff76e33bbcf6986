import type { Attributes, Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TracingConfig } from './tracing-config.ts';
import { exporterHeaders } from '../envoy/tracing.ts';

/** The W3C trace context header (https://www.w3.org/TR/trace-context/). */
export const TRACEPARENT_HEADER = 'traceparent';
/** Headers that carry a trace context; removed from provider requests when propagate_to_providers is off. */
export const TRACE_CONTEXT_HEADERS = [TRACEPARENT_HEADER, 'tracestate'] as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = '00000000000000000000000000000000';
const INVALID_SPAN = '0000000000000000';

/** A parent from a traceparent value (Envoy's ext_proc call span), or null when absent or malformed. */
export function parseTraceparent(value: string | undefined): SpanContext | null {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (!match?.[1] || !match[2] || !match[3] || match[1] === INVALID_TRACE || match[2] === INVALID_SPAN) return null;
  return { traceId: match[1], spanId: match[2], traceFlags: Number.parseInt(match[3], 16) & 1, isRemote: true };
}

/** OpenTelemetry API pieces resolved once (the SDK is only loaded when tracing is on). */
interface Api {
  tracer: Tracer;
  rootContext: Context;
  withSpan(parent: Context, span: Span): Context;
  withSpanContext(parent: Context, spanContext: SpanContext): Context;
}

/** One request's trace: its span, and the children (stages, attempts) opened under it. */
export class RequestTrace {
  readonly span: Span;
  readonly traceId: string;
  private readonly api: Api;
  private readonly parent: Context;

  constructor(api: Api, span: Span) {
    this.api = api;
    this.span = span;
    this.traceId = span.spanContext().traceId;
    this.parent = api.withSpan(api.rootContext, span);
  }

  /** A span around one stage hook; the caller ends it. */
  stage(name: string, hook: string): Span {
    return this.api.tracer.startSpan(`stage ${name}`, { attributes: { 'tollgate.stage': name, 'tollgate.hook': hook } }, this.parent);
  }
}

/**
 * OpenTelemetry spans of Tollgate, exported over OTLP (gRPC or HTTP/protobuf) by the SDK's BatchSpanProcessor:
 * spans wait in a bounded queue and leave in batches off the request path; a full queue drops spans, never blocks.
 * Created only when `tracing.enabled`; otherwise nothing here is loaded and requests carry no trace.
 */
export class Tracing {
  private readonly api: Api;
  private readonly shutdownProvider: () => Promise<void>;

  private constructor(api: Api, shutdown: () => Promise<void>) {
    this.api = api;
    this.shutdownProvider = shutdown;
  }

  static async start(config: TracingConfig, env: NodeJS.ProcessEnv, logger: Logger): Promise<Tracing> {
    const [api, sdk, resources] = await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
    ]);
    const headers = Object.fromEntries(exporterHeaders(config, env));
    const exporter = config.exporter.protocol === 'grpc'
      ? await grpcExporter(config.exporter.endpoint, headers, config.exporter.timeout_ms)
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({
        url: config.exporter.endpoint, headers, timeoutMillis: config.exporter.timeout_ms,
      });
    const processor = new sdk.BatchSpanProcessor(exporter, {
      maxQueueSize: config.batch.max_queue_size,
      maxExportBatchSize: Math.min(config.batch.max_export_batch_size, config.batch.max_queue_size),
      scheduledDelayMillis: config.batch.scheduled_delay_ms,
      exportTimeoutMillis: config.exporter.timeout_ms,
    });
    const provider = new sdk.BasicTracerProvider({
      resource: resources.resourceFromAttributes({ 'service.name': config.service_name }),
      spanProcessors: [processor],
    });
    logger.info({ protocol: config.exporter.protocol }, 'tracing on: spans exported over OTLP');
    return new Tracing({
      tracer: provider.getTracer('tollgate'),
      rootContext: api.ROOT_CONTEXT,
      withSpan: (parent, span) => api.trace.setSpan(parent, span),
      withSpanContext: (parent, spanContext) => api.trace.setSpanContext(parent, spanContext),
    }, () => provider.shutdown());
  }

  /**
   * The request's span, a child of Envoy's span when `traceparent` (the ext_proc call's gRPC metadata) names one;
   * otherwise a new trace. Its name and attributes are completed when the request ends (see request-span.ts).
   */
  startRequest(traceparent: string | undefined, startTime: number): RequestTrace {
    const span = this.api.tracer.startSpan('tollgate.request', { startTime }, this.parentOf(traceparent));
    return new RequestTrace(this.api, span);
  }

  /** A span for one upstream attempt, seen by the upstream filter (its parent: that attempt's span in Envoy). */
  startAttempt(traceparent: string | undefined, attributes: Attributes): Span {
    return this.api.tracer.startSpan('attempt', { attributes }, this.parentOf(traceparent));
  }

  /** Exports what is queued (bounded by the exporter timeout), then stops. */
  shutdown(): Promise<void> {
    return this.shutdownProvider();
  }

  private parentOf(traceparent: string | undefined): Context {
    const parent = parseTraceparent(traceparent);
    return parent ? this.api.withSpanContext(this.api.rootContext, parent) : this.api.rootContext;
  }
}

/** OTLP/gRPC; `https://` endpoints use TLS. */
async function grpcExporter(endpoint: string, headers: Record<string, string>, timeoutMillis: number) {
  const [{ OTLPTraceExporter }, grpc] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-grpc'), import('@grpc/grpc-js')]);
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  const secure = endpoint.startsWith('https://');
  return new OTLPTraceExporter({
    url: endpoint, metadata, timeoutMillis,
    credentials: secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
  });
}
