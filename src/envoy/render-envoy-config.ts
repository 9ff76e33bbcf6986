import { stringify } from 'yaml';
import { fallbackExtProcOptions } from '../cache/envoy-fallback.ts';
import type { ModelTarget, ProviderConfig, TollgateConfig } from '../config/types.ts';
import { ATTEMPT_ATTRIBUTES, FILTER_ROLE_METADATA, RESPONSE_ATTRIBUTES, UPSTREAM_ROLE } from '../extproc/attributes.ts';
import { chainClusterName, chainMasks, popcount, targetsOf } from './chains.ts';
import {
  clusterDiscoveryType, ENDPOINT_METADATA_NAMESPACE, lbEndpoint, providerUpstreams, transportSocketMatches,
} from './provider-endpoints.ts';
import { renderLocalReplyConfig } from './local-replies.ts';
import { RESPONSE_HEADERS_NAMESPACE, responseHeadersFromMetadata } from './response-headers.ts';

/**
 * Renders Envoy's configuration from Tollgate's config. Three files:
 *  - envoy.yaml: the bootstrap (admin on loopback, the listener with its filters, the ext_proc cluster). Changing it
 *    needs an Envoy restart, so it holds only what rarely changes.
 *  - routes.yaml / clusters.yaml: RDS and CDS from files Envoy watches; providers and routes change without a
 *    restart and without dropping requests in flight (Tollgate rewrites them atomically on config reload).
 */
export const ROUTE_HEADER = 'x-tollgate-route';
export const INTERNAL_HEADERS = [ROUTE_HEADER, 'x-tollgate-user', 'x-tollgate-feature'];
const ROUTE_CONFIG_NAME = 'tollgate_routes';
const EXTPROC_CLUSTER = 'tollgate_extproc';

export interface RenderedEnvoyConfig {
  files: { 'envoy.yaml': string; 'routes.yaml': string; 'clusters.yaml': string };
  /** version_info of the dynamic resources, to see in Envoy's config_dump when it loaded them. */
  versions: { routes: string; clusters: string };
}

export interface RenderOptions {
  /** Directory of routes.yaml/clusters.yaml as Envoy will see it (absolute, or relative to Envoy's cwd). */
  dir: string;
  /** Overrides of provider base URLs (the demo provider of `npm start`). */
  providerBaseUrls?: Record<string, string>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;

export function clusterName(provider: string): string {
  return `provider_${provider}`;
}

function pathSource(dir: string, file: string) {
  return {
    resource_api_version: 'V3',
    path_config_source: { path: `${dir}/${file}`, watched_directory: { path: dir } },
  };
}

function providerBaseUrlOverride(name: string, options: RenderOptions): string | undefined {
  return options.providerBaseUrls?.[name];
}

/** HTTP/1.1 to providers; chain clusters add the per-attempt translation filter before the codec. */
function httpProtocolOptions(upstreamFilters: object[] = []) {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http_protocol_options: {} },
      common_http_protocol_options: { idle_timeout: '60s' },
      ...(upstreamFilters.length
        ? {
            http_filters: [
              ...upstreamFilters,
              {
                name: 'envoy.filters.http.upstream_codec',
                typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec' },
              },
            ],
          }
        : {}),
    },
  };
}

/**
 * The circuit breaker per provider endpoint: consecutive failures eject it for a while (longer each time). 429s are
 * not failures of the endpoint and never eject it. max_ejection_percent 100: a chain must be able to eject every
 * provider (the default 10 % would keep a broken one in rotation).
 */
function outlierDetection(config: TollgateConfig) {
  const outlier = config.routing.outlier;
  return {
    consecutive_5xx: outlier.consecutive_failures,
    consecutive_gateway_failure: outlier.consecutive_failures,
    enforcing_consecutive_gateway_failure: 100,
    interval: seconds(outlier.interval_ms),
    base_ejection_time: seconds(outlier.base_ejection_ms),
    max_ejection_percent: 100,
  };
}

function baseCluster(name: string, connectTimeoutMs: number, config: TollgateConfig) {
  return {
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name,
    dns_lookup_family: 'V4_PREFERRED',
    connect_timeout: seconds(connectTimeoutMs),
    per_connection_buffer_limit_bytes: config.envoy.max_response_body_bytes,
    circuit_breakers: {
      thresholds: [{ max_connections: 10000, max_pending_requests: 10000, max_requests: 10000, max_retries: 1000 }],
    },
    outlier_detection: outlierDetection(config),
  };
}

/** A provider's own cluster: its endpoints in one priority. Tollgate translates in the request-level filter. */
function renderProviderCluster(name: string, provider: ProviderConfig, config: TollgateConfig, options: RenderOptions) {
  const upstreams = providerUpstreams(provider, providerBaseUrlOverride(name, options));
  const matches = transportSocketMatches([{ name, config: provider, upstreams }]);
  return {
    ...baseCluster(clusterName(name), provider.connect_timeout_ms ?? config.envoy.connect_timeout_ms, config),
    type: clusterDiscoveryType(upstreams),
    load_assignment: {
      cluster_name: clusterName(name),
      endpoints: [{ lb_endpoints: upstreams.map((u) => lbEndpoint(u, { provider: name })) }],
    },
    typed_extension_protocol_options: httpProtocolOptions(),
    ...(matches.length ? { transport_socket_matches: matches } : {}),
  };
}

/**
 * A fallback chain (or the part of it a request may use): one priority per provider in chain order. Envoy's retries
 * move to the next priority; the upstream ext_proc filter runs on every attempt and has Tollgate translate the
 * OpenAI request for whichever provider Envoy picked (read from the endpoint's metadata).
 */
function renderChainCluster(modelName: string, targets: ModelTarget[], mask: number, config: TollgateConfig, options: RenderOptions) {
  const name = chainClusterName(modelName, mask);
  const members = targets.map((target) => {
    const provider = config.providers[target.provider] as ProviderConfig;
    return { target, provider, upstreams: providerUpstreams(provider, providerBaseUrlOverride(target.provider, options)) };
  });
  const matches = transportSocketMatches(members.map((m) => ({ name: m.target.provider, config: m.provider, upstreams: m.upstreams })));
  const connectTimeoutMs = Math.max(...members.map((m) => m.provider.connect_timeout_ms ?? config.envoy.connect_timeout_ms));
  return {
    ...baseCluster(name, connectTimeoutMs, config),
    type: clusterDiscoveryType(members.flatMap((m) => m.upstreams)),
    // With every provider ejected, answer 503 at once instead of sending traffic to broken ones (panic mode).
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    load_assignment: {
      cluster_name: name,
      endpoints: members.map((m, priority) => ({
        priority,
        lb_endpoints: m.upstreams.map((u) => lbEndpoint(u, { provider: m.target.provider, model: m.target.model })),
      })),
    },
    typed_extension_protocol_options: httpProtocolOptions([upstreamTranslationFilter(config)]),
    ...(matches.length ? { transport_socket_matches: matches } : {}),
  };
}

/** Every chain cluster of the config: each subset of two or more targets of each multi-provider model. */
function chainClusters(config: TollgateConfig, options: RenderOptions) {
  return Object.entries(config.models).flatMap(([modelName, model]) =>
    chainMasks(model.targets.length).map((mask) => renderChainCluster(modelName, targetsOf(model.targets, mask), mask, config, options)));
}

/** Tollgate's per-attempt translation: request headers and body of each attempt, and the attempt's status. */
function upstreamTranslationFilter(config: TollgateConfig) {
  return {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: {
        envoy_grpc: { cluster_name: EXTPROC_CLUSTER },
        timeout: '5s',
        initial_metadata: [{ key: FILTER_ROLE_METADATA, value: UPSTREAM_ROLE }],
      },
      stat_prefix: 'tollgate_upstream',
      // Never forward an untranslated request (it would carry the client's Tollgate key to a provider).
      failure_mode_allow: false,
      message_timeout: seconds(config.envoy.message_timeout_ms),
      processing_mode: {
        request_header_mode: 'SEND',
        request_body_mode: 'BUFFERED',
        request_trailer_mode: 'SKIP',
        response_header_mode: 'SEND',
        response_body_mode: 'NONE',
        response_trailer_mode: 'SKIP',
      },
      request_attributes: [...ATTEMPT_ATTRIBUTES],
    },
  };
}

const header = (key: string, value: string) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });

/** What every provider route shares: streaming-friendly timeouts, internal headers stripped, response headers. */
function providerRouteAction(config: TollgateConfig) {
  return {
    // Streams may last long: no overall deadline; per attempt until headers, and idle time inside a stream.
    timeout: '0s',
    idle_timeout: seconds(config.envoy.stream_idle_timeout_ms),
    // Each endpoint's hostname (see lbEndpoint), re-applied on every attempt.
    auto_host_rewrite: true,
  };
}

const commonResponseHeaders = [
  header('x-tollgate-request-id', '%REQ(x-request-id)%'),
  header('x-tollgate-attempts', '%UPSTREAM_REQUEST_ATTEMPT_COUNT%'),
];

function renderRoutes(config: TollgateConfig) {
  const providerRoutes = Object.keys(config.providers).map((name) => ({
    name: `provider_${name}`,
    match: { prefix: '/', headers: [{ name: ROUTE_HEADER, string_match: { exact: name } }] },
    route: {
      cluster: clusterName(name),
      ...providerRouteAction(config),
      retry_policy: {
        // Only failures where the provider cannot have started work: a retried completion would be billed twice.
        retry_on: 'connect-failure,refused-stream',
        num_retries: 1,
        per_try_timeout: seconds(config.envoy.upstream_timeout_ms),
        retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
        host_selection_retry_max_attempts: 3,
      },
    },
    request_headers_to_remove: INTERNAL_HEADERS,
    // Tollgate may rewrite bodies (translation, error normalisation), so the provider's length does not hold.
    response_headers_to_remove: ['content-length'],
    response_headers_to_add: [
      ...commonResponseHeaders,
      header('x-tollgate-provider', name),
      ...responseHeadersFromMetadata(),
    ],
  }));
  const chainRoutes = Object.entries(config.models).flatMap(([modelName, model]) =>
    chainMasks(model.targets.length).map((mask) => {
      const name = chainClusterName(modelName, mask);
      const size = popcount(mask);
      return {
        name,
        match: { prefix: '/', headers: [{ name: ROUTE_HEADER, string_match: { exact: name } }] },
        route: {
          cluster: name,
          ...providerRouteAction(config),
          retry_policy: {
            // A failed attempt moves to the next provider of the chain (the next priority not tried yet).
            retry_on: '5xx,reset,connect-failure,refused-stream,retriable-status-codes',
            retriable_status_codes: config.routing.retry_on_status,
            num_retries: Math.min(model.max_attempts ?? size, 10) - 1,
            per_try_timeout: seconds(config.envoy.upstream_timeout_ms),
            retry_back_off: { base_interval: '0.010s', max_interval: '0.050s' },
            retry_priority: {
              name: 'envoy.retry_priorities.previous_priorities',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
                update_frequency: 1,
              },
            },
            retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
            host_selection_retry_max_attempts: 5,
          },
        },
        request_headers_to_remove: INTERNAL_HEADERS,
        response_headers_to_remove: ['content-length'],
        response_headers_to_add: [
          ...commonResponseHeaders,
          header('x-tollgate-provider', `%UPSTREAM_METADATA(["${ENDPOINT_METADATA_NAMESPACE}","provider"])%`),
          header('x-tollgate-model', `%UPSTREAM_METADATA(["${ENDPOINT_METADATA_NAMESPACE}","model"])%`),
          ...responseHeadersFromMetadata().filter((h) => (h as { header: { key: string } }).header.key !== 'x-tollgate-model'),
        ],
      };
    }));
  return {
    '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    name: ROUTE_CONFIG_NAME,
    virtual_hosts: [{
      name: 'tollgate',
      domains: ['*'],
      routes: [
        ...providerRoutes,
        ...chainRoutes,
        {
          // Only reachable if Tollgate let a request through without choosing a provider.
          name: 'no_route',
          match: { prefix: '/' },
          direct_response: { status: 404 },
        },
      ],
    }],
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

function renderBootstrap(config: TollgateConfig, options: RenderOptions) {
  const extprocFilter = {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: { envoy_grpc: { cluster_name: EXTPROC_CLUSTER }, timeout: '5s' },
      stat_prefix: 'tollgate',
      failure_mode_allow: config.envoy.failure_mode_allow,
      message_timeout: seconds(config.envoy.message_timeout_ms),
      // Request headers are held until Tollgate answers them, and the BUFFERED body lets the route be chosen from
      // it. Response headers are not sent (one round trip less per request): the status travels as an attribute
      // with the first body chunk, and bodies are STREAMED, so SSE flows chunk by chunk and JSON passes in
      // one or a few chunks; x-tollgate-* response headers come from the route (see renderRoutes).
      processing_mode: {
        request_header_mode: 'SEND',
        request_body_mode: 'BUFFERED',
        request_trailer_mode: 'SKIP',
        response_header_mode: 'SKIP',
        response_body_mode: 'STREAMED',
        response_trailer_mode: 'SKIP',
      },
      response_attributes: [...RESPONSE_ATTRIBUTES],
      // Lets a request ask for its response headers, so a stale/default answer can replace a failed chain's.
      ...fallbackExtProcOptions(config),
      // Tollgate may only write the namespace whose values the routes turn into client response headers.
      metadata_options: { receiving_namespaces: { untyped: [RESPONSE_HEADERS_NAMESPACE] } },
    },
  };
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'tollgate_api',
    codec_type: 'AUTO',
    normalize_path: true,
    merge_slashes: true,
    stream_idle_timeout: seconds(config.envoy.stream_idle_timeout_ms),
    request_headers_timeout: '10s',
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
    local_reply_config: renderLocalReplyConfig(config.envoy.max_request_body_bytes),
    http_filters: [
      {
        // Enforces the request size limit with a 413 before anything is sent to Tollgate.
        name: 'envoy.filters.http.buffer',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer',
          max_request_bytes: config.envoy.max_request_body_bytes,
        },
      },
      extprocFilter,
      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
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
        }],
      }],
      clusters: [{
        name: EXTPROC_CLUSTER,
        type: 'STATIC',
        connect_timeout: '1s',
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
      }],
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
  const clusters = [
    ...Object.entries(config.providers).map(([name, provider]) => renderProviderCluster(name, provider, config, options)),
    ...chainClusters(config, options),
  ];
  const routes = renderRoutes(config);
  // Version strings derive from content so an unchanged file never makes Envoy rebuild anything.
  const clustersBody = stringify(clusters);
  const routesBody = stringify(routes);
  const versions = { routes: contentVersion(routesBody), clusters: contentVersion(clustersBody) };
  return {
    files: {
      'envoy.yaml': HEADER + stringify(renderBootstrap(config, options)),
      'routes.yaml': HEADER + stringify(discoveryResponse([routes], versions.routes)),
      'clusters.yaml': HEADER + stringify(discoveryResponse(clusters, versions.clusters)),
    },
    versions,
  };
}

function contentVersion(text: string): string {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0).toString(16);
}
