import { stringify } from 'yaml';
import { eagerRequestBody, fallbackExtProcOptions } from '../cache/envoy-fallback.ts';
import type { TollgateConfig } from '../config/types.ts';
import { RESPONSE_ATTRIBUTES } from '../extproc/attributes.ts';
import { renderClusters } from './clusters.ts';
import { JWT_METADATA_NAMESPACE, listenerTransportSocket, renderJwksClusters, renderJwtFilter, renderSecrets } from './edge.ts';
import { renderLocalReplyConfig } from './local-replies.ts';
import { EXTPROC_CLUSTER, ROUTE_CONFIG_NAME, ROUTE_HEADER, seconds, type RenderOptions } from './names.ts';
import { RESPONSE_HEADERS_NAMESPACE } from './response-headers.ts';
import { renderRoutes } from './routes.ts';
import { renderHcmTracing, renderOtlpClusters } from './tracing.ts';

export { clusterName, INTERNAL_HEADERS, ROUTE_HEADER, type RenderOptions } from './names.ts';

/**
 * Renders Envoy's configuration from Tollgate's config. Three files:
 *  - envoy.yaml: the bootstrap (admin on loopback, the listener with its filters, the ext_proc cluster). Changing it
 *    needs an Envoy restart, so it holds only what rarely changes.
 *  - routes.yaml / clusters.yaml: RDS and CDS from files Envoy watches (clusters.ts, routes.ts); providers and routes
 *    change without a restart and without dropping requests in flight (Tollgate rewrites them atomically on reload).
 */
export interface RenderedEnvoyConfig {
  files: { 'envoy.yaml': string; 'routes.yaml': string; 'clusters.yaml': string; 'listener-cert.yaml': string; 'client-ca.yaml': string };
  /** version_info of the dynamic resources, to see in Envoy's config_dump when it loaded them. */
  versions: { routes: string; clusters: string };
}

function pathSource(dir: string, file: string) {
  return {
    resource_api_version: 'V3',
    path_config_source: { path: `${dir}/${file}`, watched_directory: { path: dir } },
  };
}

function discoveryResponse(resources: object[], version: string) {
  return { version_info: version, resources };
}

/** Tollgate processes Envoy talks to: its Unix socket, the configured list, or the one at extproc.address:port. */
function extprocEndpoints(config: TollgateConfig): object[] {
  if (config.extproc.socket_path) return [{ pipe: { path: config.extproc.socket_path } }];
  const listed = config.extproc.endpoints ?? [{ address: config.extproc.address, port: config.extproc.port }];
  // A wildcard bind address is reached through loopback.
  return listed.map((e) => ({ socket_address: { address: e.address === '0.0.0.0' ? '127.0.0.1' : e.address, port_value: e.port } }));
}

/** Envoy answers its own readiness on the listener (200 live, 503 draining), so its admin stays on loopback. */
function readinessFilter(path: string) {
  return {
    name: 'envoy.filters.http.health_check',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck',
      pass_through_mode: false,
      headers: [{ name: ':path', string_match: { exact: path } }],
    },
  };
}

/**
 * Several Tollgate processes behind one Envoy: a killed or hung one must stop getting new ext_proc streams at once,
 * not after its connection times out. The first refused connection ejects it (outlier detection on local-origin
 * failures), and a TCP health check every 250 ms keeps it out until it listens again, then lets it back in (a
 * replacement on the same port serves within a check interval). With every process ejected or unhealthy Envoy
 * still tries them all (panic routing), so this never makes things worse than without it. Measured by
 * test/bench/chaos.ts.
 */
function extprocHealth(endpoints: object[]): object {
  if (endpoints.length < 2) return {};
  return {
    health_checks: [{
      timeout: '0.25s', interval: '0.25s', unhealthy_threshold: 1, healthy_threshold: 1,
      no_traffic_interval: '0.25s', tcp_health_check: {},
    }],
    outlier_detection: {
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 1,
      enforcing_consecutive_local_origin_failure: 100,
      // gRPC errors of a live process (e.g. a stream Tollgate rejected) are not a reason to eject it.
      enforcing_consecutive_5xx: 0, enforcing_consecutive_gateway_failure: 0, enforcing_success_rate: 0,
      interval: '1s', base_ejection_time: '1s', max_ejection_percent: 100,
    },
  };
}

function renderBootstrap(config: TollgateConfig, options: RenderOptions) {
  const eager = eagerRequestBody(config);
  const jwtFilter = renderJwtFilter(config);
  const extprocFilter = {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: {
        envoy_grpc: { cluster_name: EXTPROC_CLUSTER }, timeout: '5s',
        // Several Tollgate processes: a stream that could not connect or was reset (a process just killed, not yet
        // ejected) is opened again on another one before any answer left. Whatever the dead process had begun is
        // closed by the ledger's reconciler, which releases its reservation; Tollgate itself ends the streams it
        // rejects with a gRPC status, never a reset, so a live process's refusal is never retried.
        ...(extprocEndpoints(config).length > 1
          ? { retry_policy: { retry_on: 'connect-failure,refused-stream,reset', num_retries: 2, retry_back_off: { base_interval: '0.005s', max_interval: '0.05s' } } }
          : {}),
      },
      stat_prefix: 'tollgate',
      failure_mode_allow: config.envoy.failure_mode_allow,
      message_timeout: seconds(config.envoy.message_timeout_ms),
      // Request headers are held until Tollgate answers them, and the BUFFERED body lets the route be chosen from
      // it. Response headers are not sent (one round trip less per request): the status travels as an attribute
      // with the first body chunk, and bodies are STREAMED, so SSE flows chunk by chunk and JSON passes in
      // one or a few chunks; x-tollgate-* response headers come from the route (see renderRoutes).
      processing_mode: {
        request_header_mode: 'SEND',
        // Eager: the buffer filter in front has already collected the whole body, so Envoy streams it to Tollgate as
        // one chunk right behind the headers, and Tollgate answers both at once (see PipelineOptions.eagerRequestBody).
        request_body_mode: eager ? 'STREAMED' : 'BUFFERED',
        request_trailer_mode: 'SKIP',
        response_header_mode: 'SKIP',
        response_body_mode: 'STREAMED',
        response_trailer_mode: 'SKIP',
      },
      ...(eager ? { send_body_without_waiting_for_header_response: true } : {}),
      // The client's address (after trusted proxies), for the failed-authentication limit.
      request_attributes: ['source.address'],
      response_attributes: [...RESPONSE_ATTRIBUTES],
      // Lets a request ask for its response headers, so a stale/default answer can replace a failed chain's.
      ...fallbackExtProcOptions(config),
      // Tollgate may only write the namespace whose values the routes turn into client response headers.
      // It reads the JWT payloads jwt_authn verified (never a header a client could forge).
      metadata_options: {
        receiving_namespaces: { untyped: [RESPONSE_HEADERS_NAMESPACE] },
        ...(jwtFilter ? { forwarding_namespaces: { untyped: [JWT_METADATA_NAMESPACE] } } : {}),
      },
    },
  };
  const tracing = renderHcmTracing(config, options.env ?? process.env);
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'tollgate_api',
    codec_type: 'AUTO',
    normalize_path: true,
    merge_slashes: true,
    stream_idle_timeout: seconds(config.envoy.stream_idle_timeout_ms),
    // The client's address is the connection's peer, or behind load balancers the X-Forwarded-For entry past the
    // trusted hops. Never the last X-Forwarded-For entry as such (Envoy's default without use_remote_address): a
    // client writes that header itself, and could then dodge the failed-authentication limit or get others blocked.
    use_remote_address: true,
    ...(config.listener.trusted_proxy_hops > 0 ? { xff_num_trusted_hops: config.listener.trusted_proxy_hops } : {}),
    request_headers_timeout: '10s',
    // A request with an unknown method (PROPFIND, M-SEARCH…) gets Tollgate's 404 in the OpenAI shape, not a codec
    // error that closes the connection.
    http_protocol_options: { allow_custom_methods: true },
    // Only Tollgate chooses the route: a client-sent route header is dropped before route selection and before
    // any filter runs (this matters when a deployment opts into failure_mode_allow). A client-sent x-request-id is
    // dropped too, so Envoy always makes a fresh one: usage records and attempt tracking are keyed by it, and a
    // client must not be able to reuse another request's id.
    early_header_mutation_extensions: [{
      name: 'envoy.http.early_header_mutation.header_mutation',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation',
        mutations: [{ remove: ROUTE_HEADER }, { remove: 'x-request-id' }],
      },
    }],
    rds: { route_config_name: ROUTE_CONFIG_NAME, config_source: pathSource(options.dir, 'routes.yaml') },
    local_reply_config: renderLocalReplyConfig(config.envoy.max_request_body_bytes, config.envoy.max_request_body_bytes_by_path),
    ...(tracing ? { tracing } : {}),
    http_filters: [
      ...(config.envoy.readiness_path ? [readinessFilter(config.envoy.readiness_path)] : []),
      {
        // Enforces the request size limit with a 413 before anything is sent to Tollgate.
        name: 'envoy.filters.http.buffer',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer',
          max_request_bytes: config.envoy.max_request_body_bytes,
        },
      },
      ...(jwtFilter ? [jwtFilter] : []),
      extprocFilter,
      {
        name: 'envoy.filters.http.router',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
          // No x-envoy-expected-rq-timeout-ms (and the like) to providers, no x-envoy-upstream-service-time to clients.
          suppress_envoy_headers: true,
        },
      },
    ],
  };
  return {
    node: { id: 'tollgate', cluster: 'tollgate' },
    admin: {
      address: { socket_address: { address: config.envoy.admin.address, port_value: config.envoy.admin.port } },
    },
    static_resources: {
      listeners: [{
        name: 'tollgate_api',
        address: { socket_address: { address: config.listener.address, port_value: config.listener.port } },
        // Envoy defaults to SO_REUSEPORT: a second gateway (or test) on the same port would silently share its
        // traffic. Binding exclusively makes that a start-up error instead.
        enable_reuse_port: false,
        // Per-connection buffer: large enough for a buffered JSON response (request size is capped by the buffer filter).
        per_connection_buffer_limit_bytes: config.envoy.max_response_body_bytes,
        filter_chains: [{
          filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
          ...listenerTransportSocket(config, options),
        }],
      }],
      clusters: [{
        name: EXTPROC_CLUSTER,
        type: 'STATIC',
        connect_timeout: '1s',
        ...extprocHealth(extprocEndpoints(config)),
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: {
              http2_protocol_options: { connection_keepalive: { interval: '30s', timeout: '5s' } },
            },
          },
        },
        load_assignment: {
          cluster_name: EXTPROC_CLUSTER,
          endpoints: [{ lb_endpoints: extprocEndpoints(config).map((address) => ({ endpoint: { address } })) }],
        },
      }, ...renderJwksClusters(config), ...renderOtlpClusters(config)],
    },
    dynamic_resources: { cds_config: pathSource(options.dir, 'clusters.yaml') },
    layered_runtime: {
      layers: [{
        name: 'tollgate_defaults',
        static_layer: {
          // Without it Envoy resets the ext_proc gRPC stream at the end of every request; Node's HTTP/2 server takes
          // the flood of resets for an attack and drops the connection (~every 1,200 streams), failing requests in
          // flight with 503. Measured by test/bench/overhead.ts.
          'envoy.reloadable_features.ext_proc_graceful_grpc_close': true,
        },
      }],
    },
    // An explicit ceiling on downstream connections, so a connection flood degrades instead of exhausting fds.
    overload_manager: {
      resource_monitors: [{
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
          max_active_downstream_connections: 50_000,
        },
      }],
    },
  };
}

const HEADER = '# Rendered by `tollgate envoy-config` from config/tollgate.yaml. Do not edit by hand.\n';

export function renderEnvoyConfig(config: TollgateConfig, options: RenderOptions): RenderedEnvoyConfig {
  const clusters = renderClusters(config, options);
  const routes = renderRoutes(config);
  // Version strings derive from content so an unchanged file never makes Envoy rebuild anything.
  const clustersBody = stringify(clusters);
  const routesBody = stringify(routes);
  const versions = { routes: contentVersion(routesBody), clusters: contentVersion(clustersBody) };
  const secrets = renderSecrets(config.listener.tls);
  const secretsVersion = contentVersion(JSON.stringify(config.listener.tls ?? null));
  return {
    files: {
      'envoy.yaml': HEADER + stringify(renderBootstrap(config, options)),
      'routes.yaml': HEADER + stringify(discoveryResponse([routes], versions.routes)),
      'clusters.yaml': HEADER + stringify(discoveryResponse(clusters, versions.clusters)),
      // Listener certificates (SDS); the files they name are watched by Envoy itself.
      'listener-cert.yaml': HEADER + stringify(discoveryResponse(secrets.cert, secretsVersion)),
      'client-ca.yaml': HEADER + stringify(discoveryResponse(secrets.clientCa, secretsVersion)),
    },
    versions,
  };
}

function contentVersion(text: string): string {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0).toString(16);
}
