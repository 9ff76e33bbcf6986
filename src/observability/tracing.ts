import { randomFillSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { TracingConfig } from './tracing-config.ts';
import { exporterHeaders } from '../envoy/tracing.ts';
import { batchPrefix, type AttributeValue, type SpanAttributes, type SpanData } from './otlp/encode.ts';
import { grpcTransport, httpTransport } from './otlp/exporter.ts';
import { SpanBatcher } from './otlp/span-batcher.ts';

export type { SpanAttributes } from './otlp/encode.ts';

/** The W3C trace context header (https://www.w3.org/TR/trace-context/). */
export const TRACEPARENT_HEADER = 'traceparent';
/** Headers that carry a trace context; removed from provider requests when propagate_to_providers is off. */
export const TRACE_CONTEXT_HEADERS = [TRACEPARENT_HEADER, 'tracestate'] as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = '00000000000000000000000000000000';
const INVALID_SPAN = '0000000000000000';

export interface ParentContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** A parent from a traceparent value (Envoy's ext_proc call span), or null when absent or malformed. */
export function parseTraceparent(value: string | undefined): ParentContext | null {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (!match?.[1] || !match[2] || !match[3] || match[1] === INVALID_TRACE || match[2] === INVALID_SPAN) return null;
  return { traceId: match[1], spanId: match[2], sampled: (Number.parseInt(match[3], 16) & 1) === 1 };
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
export const SPAN_STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** Random span and trace ids, cut from a pooled random buffer (one getrandom call per 4 KiB of ids). */
class IdSource {
  private pool = Buffer.alloc(0);
  private at = 0;

  take(size: number): Buffer {
    if (this.at + size > this.pool.length) {
      // A fresh pool each time: ids handed out earlier are views of the old one and must not change.
      this.pool = randomFillSync(Buffer.allocUnsafeSlow(4096));
      this.at = 0;
    }
    const id = this.pool.subarray(this.at, this.at + size);
    this.at += size;
    return id;
  }
}

const nowMs = () => performance.timeOrigin + performance.now();

/**
 * A span: what it needs to be encoded when it ends, nothing else (no context objects, no processors). Ending it
 * encodes it into the pending batch.
 */
export class Span {
  name: string;
  readonly traceId: Buffer;
  readonly spanId: Buffer;
  private readonly parentSpanId: Buffer | null;
  private readonly kind: number;
  private readonly startMs: number;
  private readonly attributes: SpanAttributes;
  private statusCode = 0;
  private statusMessage = '';
  private ended = false;
  private readonly emit: (span: SpanData) => void;

  constructor(emit: (span: SpanData) => void, name: string, traceId: Buffer, spanId: Buffer, parentSpanId: Buffer | null, attributes: SpanAttributes, kind: number = SPAN_KIND.internal) {
    this.emit = emit;
    this.name = name;
    this.traceId = traceId;
    this.spanId = spanId;
    this.parentSpanId = parentSpanId;
    this.attributes = attributes;
    this.kind = kind;
    this.startMs = nowMs();
  }

  setAttribute(key: string, value: AttributeValue): void {
    this.attributes[key] = value;
  }

  setAttributes(attributes: SpanAttributes): void {
    Object.assign(this.attributes, attributes);
  }

  setStatus(code: number, message = ''): void {
    this.statusCode = code;
    this.statusMessage = message;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit({
      traceId: this.traceId, spanId: this.spanId, parentSpanId: this.parentSpanId, name: this.name, kind: this.kind,
      startMs: this.startMs, endMs: nowMs(), attributes: this.attributes, statusCode: this.statusCode, statusMessage: this.statusMessage,
    });
  }
}

/** One request's trace: its span, and the children (stage hooks) opened under it. */
export class RequestTrace {
  readonly span: Span;
  /** 32 hex digits, for the response header and the usage record. */
  readonly traceId: string;
  private readonly tracing: Tracing;

  constructor(tracing: Tracing, span: Span) {
    this.tracing = tracing;
    this.span = span;
    this.traceId = span.traceId.toString('hex');
  }

  /** A span around one stage hook; the caller ends it. */
  stage(name: string, hook: string): Span {
    return this.tracing.child(this.span, `stage ${name}`, { 'tollgate.stage': name, 'tollgate.hook': hook });
  }
}

/**
 * OpenTelemetry spans of Tollgate, encoded straight to OTLP protobuf and exported in batches over OTLP/gRPC or
 * OTLP/HTTP (otlp/). Created only when `tracing.enabled`; otherwise requests carry no trace and nothing here runs.
 * Hand-written rather than the OpenTelemetry SDK: the SDK cost ~12 µs of CPU per span here, 0.3 ms per request with
 * a span per stage hook, more than all the stages together (test/bench/results/tracing.json).
 */
export class Tracing {
  private readonly ids = new IdSource();
  private readonly batcher: SpanBatcher;
  private readonly emit: (span: SpanData) => void;

  constructor(config: TracingConfig, env: NodeJS.ProcessEnv, logger: Logger) {
    const headers = Object.fromEntries(exporterHeaders(config, env));
    const options = { endpoint: config.exporter.endpoint, headers, timeoutMs: config.exporter.timeout_ms };
    const transport = config.exporter.protocol === 'grpc' ? grpcTransport(options) : httpTransport(options);
    this.batcher = new SpanBatcher(
      {
        maxQueueSize: config.batch.max_queue_size,
        maxBatchSize: Math.min(config.batch.max_export_batch_size, config.batch.max_queue_size),
        delayMs: config.batch.scheduled_delay_ms,
      },
      transport,
      batchPrefix({ 'service.name': config.service_name, 'telemetry.sdk.name': 'tollgate', 'telemetry.sdk.language': 'nodejs' }, 'tollgate'),
      logger,
    );
    this.emit = (span) => this.batcher.add(span);
  }

  /**
   * The request's span, a child of Envoy's span when `traceparent` (the ext_proc call's gRPC metadata) names one;
   * otherwise a new trace. Null when the parent was not sampled: then nothing of this request is recorded.
   */
  startRequest(traceparent: string | undefined): RequestTrace | null {
    const span = this.startSpan(traceparent, 'tollgate.request', {});
    return span ? new RequestTrace(this, span) : null;
  }

  /** A span for one upstream attempt, seen by the upstream filter (its parent: that attempt's span in Envoy). */
  startAttempt(traceparent: string | undefined, attributes: SpanAttributes): Span | null {
    return this.startSpan(traceparent, 'attempt', attributes);
  }

  child(parent: Span, name: string, attributes: SpanAttributes): Span {
    return new Span(this.emit, name, parent.traceId, this.ids.take(8), parent.spanId, attributes);
  }

  /** Spans dropped so far (queue full, or the collector failed). */
  get droppedSpans(): number {
    return this.batcher.dropped;
  }

  /** Exports what is queued now (tests and benchmarks; batches leave on their own otherwise). */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Exports what is queued, then closes the connection. */
  shutdown(): Promise<void> {
    return this.batcher.close();
  }

  private startSpan(traceparent: string | undefined, name: string, attributes: SpanAttributes): Span | null {
    const parent = parseTraceparent(traceparent);
    if (parent && !parent.sampled) return null;
    const traceId = parent ? Buffer.from(parent.traceId, 'hex') : this.ids.take(16);
    const parentSpanId = parent ? Buffer.from(parent.spanId, 'hex') : null;
    return new Span(this.emit, name, traceId, this.ids.take(8), parentSpanId, attributes);
  }
}
