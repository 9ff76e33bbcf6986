/**
 * The `tracing` section of config/tollgate.yaml: OpenTelemetry traces from Envoy and Tollgate, exported over OTLP.
 * Off by default, and off costs nothing: no tracer, no span objects, no tracing block in Envoy's config.
 */
export interface TracingConfig {
  enabled: boolean;
  /** service.name of Tollgate's spans (Envoy's spans carry `<service_name>-envoy`). */
  service_name: string;
  /**
   * Where spans go. `grpc`: an OTLP/gRPC endpoint (`http://collector:4317`). `http`: the full OTLP/HTTP traces URL
   * (`http://collector:4318/v1/traces`, Langfuse's `https://…/api/public/otel/v1/traces`). Envoy exports to the same.
   */
  exporter: {
    protocol: 'grpc' | 'http';
    endpoint: string;
    /** Fixed headers (gRPC metadata for `grpc`). */
    headers: Record<string, string>;
    /** Headers whose value is read from an environment variable (e.g. `authorization: LANGFUSE_OTLP_AUTH`). */
    headers_env: Record<string, string>;
    timeout_ms: number;
  };
  /** Spans wait in a bounded queue and leave in batches; a full queue drops spans, it never blocks a request. */
  batch: { max_queue_size: number; max_export_batch_size: number; scheduled_delay_ms: number };
  /** Envoy sends the attempt's `traceparent` to providers; false removes it (and the client's) from every attempt. */
  propagate_to_providers: boolean;
}

export const tracingConfigSchema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    service_name: { type: 'string', minLength: 1, default: 'tollgate' },
    exporter: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        protocol: { enum: ['grpc', 'http'], default: 'grpc' },
        endpoint: { type: 'string', pattern: '^https?://[^/]+', default: 'http://127.0.0.1:4317' },
        headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
        headers_env: { type: 'object', additionalProperties: { type: 'string', minLength: 1 }, default: {} },
        timeout_ms: { type: 'integer', minimum: 100, default: 10_000 },
      },
    },
    batch: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        max_queue_size: { type: 'integer', minimum: 1, default: 4096 },
        max_export_batch_size: { type: 'integer', minimum: 1, default: 512 },
        scheduled_delay_ms: { type: 'integer', minimum: 1, default: 1000 },
      },
    },
    propagate_to_providers: { type: 'boolean', default: true },
  },
} as const;
