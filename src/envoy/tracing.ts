import type { TollgateConfig } from '../config/types.ts';
import { seconds } from './names.ts';
import { SYSTEM_CA_BUNDLE } from './provider-endpoints.ts';

/** The cluster Envoy exports its spans through (OTLP over gRPC or HTTP, as Tollgate does). */
export const OTLP_CLUSTER = 'tollgate_otlp';

interface CollectorAddress {
  host: string;
  port: number;
  tls: boolean;
}

function collectorAddress(endpoint: string): CollectorAddress {
  const url = new URL(endpoint);
  const tls = url.protocol === 'https:';
  return { host: url.hostname, port: Number(url.port) || (tls ? 443 : 80), tls };
}

/** Header values of the exporter, the `_env` ones read now: Envoy gets literal values (its bootstrap is a file we render). */
export function exporterHeaders(tracing: TollgateConfig['tracing'], env: NodeJS.ProcessEnv): Array<[string, string]> {
  const headers = Object.entries(tracing.exporter.headers);
  for (const [name, variable] of Object.entries(tracing.exporter.headers_env)) {
    const value = env[variable];
    if (value) headers.push([name, value]);
  }
  return headers;
}

/**
 * The HCM's `tracing` block: Envoy's OpenTelemetry tracer honours the client's W3C traceparent, opens the request's
 * server span, and (spawn_upstream_span) one child span per upstream attempt, so retries and fallbacks show as
 * sibling spans. Its ext_proc calls carry their own span's traceparent in the gRPC metadata, which is how Tollgate's
 * spans join the same trace. Null when tracing is off: no tracer, no sampling, no cost.
 */
export function renderHcmTracing(config: TollgateConfig, env: NodeJS.ProcessEnv): object | null {
  const tracing = config.tracing;
  if (!tracing.enabled) return null;
  const headers = exporterHeaders(tracing, env);
  const timeout = seconds(tracing.exporter.timeout_ms);
  const exporter = tracing.exporter.protocol === 'grpc'
    ? {
      grpc_service: {
        envoy_grpc: { cluster_name: OTLP_CLUSTER }, timeout,
        ...(headers.length ? { initial_metadata: headers.map(([key, value]) => ({ key, value })) } : {}),
      },
    }
    : {
      http_service: {
        http_uri: { uri: tracing.exporter.endpoint, cluster: OTLP_CLUSTER, timeout },
        ...(headers.length ? { request_headers_to_add: headers.map(([key, value]) => ({ header: { key, value } })) } : {}),
      },
    };
  return {
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
        ...exporter,
        service_name: `${tracing.service_name}-envoy`,
      },
    },
    spawn_upstream_span: true,
  };
}

/** The collector's cluster, for Envoy's exporter; none when tracing is off. */
export function renderOtlpClusters(config: TollgateConfig): object[] {
  const tracing = config.tracing;
  if (!tracing.enabled) return [];
  const address = collectorAddress(tracing.exporter.endpoint);
  const grpc = tracing.exporter.protocol === 'grpc';
  return [{
    name: OTLP_CLUSTER,
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    ...(grpc
      ? {
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
      }
      : {}),
    load_assignment: {
      cluster_name: OTLP_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: address.host, port_value: address.port } } } }] }],
    },
    ...(address.tls
      ? {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
            sni: address.host,
            common_tls_context: { validation_context: { trusted_ca: { filename: SYSTEM_CA_BUNDLE } } },
          },
        },
      }
      : {}),
  }];
}
