import type { LoadBalancingConfig, ModelTarget, ProviderConfig, TollgateConfig } from '../config/types.ts';
import { ANSWERING_PROVIDER_ATTRIBUTE, ATTEMPT_ATTRIBUTES, CASCADE_ATTRIBUTE, FILTER_ROLE_METADATA, UPSTREAM_ROLE } from '../extproc/attributes.ts';
import { providerAdapter } from '../providers/registry.ts';
import { TRACE_CONTEXT_HEADERS } from '../observability/tracing.ts';
import { chainClusterName, chainMasks, preferFirst, preferredClusterName, priorityGroups, targetsOf } from './chains.ts';
import { AFFINITY_HEADER, clusterName, EXTPROC_CLUSTER, providerBaseUrlOverride, seconds, type RenderOptions } from './names.ts';
import { metadataValue, REQUEST_ID_HEADER } from './response-headers.ts';
import { modelRetries } from './retries.ts';
import { hintInMilliseconds, retryAfterFromMsFilter } from './retry-after-ms.ts';
import { clusterDiscoveryType, lbEndpoint, providerUpstreams, transportSocketMatches } from './provider-endpoints.ts';

/** The provider clusters (CDS): one per provider, and one per subset of two or more providers of each chain. */
/**
 * Headers Envoy itself adds to a request (at the listener, the router, or per attempt when it rewrites the host) that
 * a provider has no use for. They are removed by the last upstream filter of each attempt, right before the codec:
 * the upstream filters of all attempts share the request's header map, so Tollgate's own filters still read them.
 */
export const ENVOY_REQUEST_HEADERS = [
  'x-request-id',
  'x-forwarded-proto',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-envoy-original-host',
  'x-envoy-original-path',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-attempt-count',
  'x-envoy-external-address',
  'x-envoy-internal',
  'x-envoy-decorator-operation',
  AFFINITY_HEADER,
] as const;

/**
 * The one id a provider does get: Tollgate's request id as `x-client-request-id`, the header OpenAI documents for a
 * caller's own request id (others ignore it), so a provider's support and logs can be matched with our ledger.
 */
export const PROVIDER_REQUEST_ID_HEADER = 'x-client-request-id';

function stripEnvoyHeadersFilter(config: TollgateConfig) {
  // Envoy's tracer writes the attempt's traceparent before the upstream filters run; a deployment that keeps its
  // traces to itself removes it (and the client's) here, on every attempt.
  const traceHeaders = config.tracing.propagate_to_providers ? [] : TRACE_CONTEXT_HEADERS;
  return {
    name: 'envoy.filters.http.header_mutation',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
      mutations: {
        request_mutations: [
          {
            append: {
              header: { key: PROVIDER_REQUEST_ID_HEADER, value: metadataValue(REQUEST_ID_HEADER) },
              append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
          },
          ...[...ENVOY_REQUEST_HEADERS, ...traceHeaders].map((name) => ({ remove: name })),
        ],
      },
    },
  };
}

/**
 * The first upstream filter of every attempt puts back the request id (from the metadata Tollgate's request-level
 * reply set), which the previous attempt's last filter removed: Tollgate's translation filter correlates each attempt
 * with its request by it.
 */
function restoreRequestIdFilter() {
  return {
    name: 'envoy.filters.http.header_mutation',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
      mutations: {
        request_mutations: [{
          append: {
            header: { key: 'x-request-id', value: metadataValue(REQUEST_ID_HEADER) },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        }],
      },
    },
  };
}

/**
 * HTTP/1.1 to providers; chain clusters add the per-attempt translation filter before the codec. `msHints`: a
 * provider of the cluster may give its retry hint only in milliseconds (src/envoy/retry-after-ms.ts).
 */
function httpProtocolOptions(config: TollgateConfig, upstreamFilters: object[] = [], msHints = false) {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http_protocol_options: {} },
      common_http_protocol_options: { idle_timeout: '60s' },
      http_filters: [
        ...(upstreamFilters.length ? [restoreRequestIdFilter()] : []),
        ...upstreamFilters,
        stripEnvoyHeadersFilter(config),
        ...(msHints ? [retryAfterFromMsFilter()] : []),
        {
          name: 'envoy.filters.http.upstream_codec',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec' },
        },
      ],
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

/** Providers that give a 429/503's retry hint only in the body (Gemini's RetryInfo), not as Retry-After. */
const hintInBody = (provider: ProviderConfig) => providerAdapter(provider.type).retryAfterFromBody !== undefined;

/**
 * A provider's own cluster: its endpoints in one priority. Tollgate translates in the request-level filter; only a
 * provider whose retry hint is in its error bodies gets an upstream filter, which reads just its responses' headers.
 */
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
    typed_extension_protocol_options: httpProtocolOptions(config, hintInBody(provider) ? [retryHintFilter(config)] : [], hintInMilliseconds(provider)),
    ...(matches.length ? { transport_socket_matches: matches } : {}),
  };
}

/**
 * A fallback chain (or the part of it a request may use): one priority per provider in chain order. Envoy's retries
 * move to the next priority; the upstream ext_proc filter runs on every attempt and has Tollgate translate the
 * OpenAI request for whichever provider Envoy picked (read from the endpoint's metadata).
 */
function renderChainCluster(modelName: string, targets: ModelTarget[], mask: number, config: TollgateConfig, options: RenderOptions, name = chainClusterName(modelName, mask)) {
  const model = config.models[modelName];
  const member = (target: ModelTarget) => {
    const provider = config.providers[target.provider] as ProviderConfig;
    return { target, provider, upstreams: providerUpstreams(provider, providerBaseUrlOverride(target.provider, options)) };
  };
  const groups = priorityGroups(targets).map((group) => group.map(member));
  const members = groups.flat();
  const matches = transportSocketMatches(members.map((m) => ({ name: m.target.provider, config: m.provider, upstreams: m.upstreams })));
  const retries = modelRetries(config, model);
  const connectTimeoutMs = Math.max(...members.map((m) => m.provider.connect_timeout_ms ?? config.envoy.connect_timeout_ms));
  return {
    ...baseCluster(name, connectTimeoutMs, config),
    type: clusterDiscoveryType(members.flatMap((m) => m.upstreams)),
    ...lbPolicy(model?.load_balancing),
    // With every provider ejected, answer 503 at once instead of sending traffic to broken ones (panic mode).
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    load_assignment: {
      cluster_name: name,
      endpoints: groups.map((group, priority) => ({
        priority,
        lb_endpoints: group.flatMap((m) => m.upstreams.map((u) => ({
          ...lbEndpoint(u, {
            provider: m.target.provider,
            model: m.target.model,
            ...(priority < groups.length - 1 ? { fallback_every: retries.max + 1 } : {}),
            ...(model?.cascade && priority < groups.length - 1 ? { cascade: modelName } : {}),
          }),
          ...(m.target.weight !== undefined ? { load_balancing_weight: m.target.weight } : {}),
        }))),
      })),
    },
    // Reading a body (a retry hint, a cascade step's answer) needs the attempt's response body: a mode override.
    typed_extension_protocol_options: httpProtocolOptions(
      config,
      [upstreamTranslationFilter(config, members.some((m) => hintInBody(m.provider)), Boolean(model?.cascade))],
      members.some((m) => hintInMilliseconds(m.provider)),
    ),
    ...(matches.length ? { transport_socket_matches: matches } : {}),
  };
}

/**
 * How Envoy picks among the endpoints of one priority: weighted round robin (Envoy's default), weighted least
 * request (ten random choices, the one with fewer requests in flight, weights applied), random, or Maglev
 * consistent hashing for sticky models (the route hashes the affinity header Tollgate sets; weights apply too).
 */
function lbPolicy(balancing: LoadBalancingConfig | undefined) {
  if (balancing?.sticky) return { lb_policy: 'MAGLEV' };
  switch (balancing?.policy) {
    case 'least_request':
      // A model has a few deployments: with Envoy's default two random choices (the same one half the time with two)
      // the busy one still gets a third of the requests; ten choices all but always find the least busy.
      return { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 10 } };
    case 'random':
      return { lb_policy: 'RANDOM' };
    // latency: Tollgate orders the targets (preferred-first clusters); behind the preferred one, round robin.
    default:
      return {};
  }
}

/** Every chain cluster of the config: each subset of two or more targets of each multi-provider model. */
function chainClusters(config: TollgateConfig, options: RenderOptions) {
  return Object.entries(config.models).flatMap(([modelName, model]) =>
    chainMasks(model.targets.length).flatMap((mask) => [
      renderChainCluster(modelName, targetsOf(model.targets, mask), mask, config, options),
      ...(model.load_balancing?.policy === 'latency' ? preferredClusters(modelName, model.targets, mask, config, options) : []),
    ]));
}

/** A latency-aware model's subset, once per target that may be preferred (see preferredClusterName). */
function preferredClusters(modelName: string, targets: ModelTarget[], mask: number, config: TollgateConfig, options: RenderOptions) {
  return targets.flatMap((_, index) => ((mask & (1 << index)) === 0 ? [] : [
    renderChainCluster(modelName, preferFirst(targets, mask, index), mask, config, options, preferredClusterName(modelName, mask, index)),
  ]));
}

/**
 * Tollgate's per-attempt translation: request headers and body of each attempt, and the attempt's status. With a
 * provider in the chain whose retry hint is in its error bodies, a 429/503 attempt may switch its body to BUFFERED
 * (mode_override) so Tollgate can add Retry-After (src/upstream/attempt-handler.ts).
 */
function upstreamTranslationFilter(config: TollgateConfig, hints: boolean, cascade: boolean) {
  // Never forward an untranslated request (it would carry the client's Tollgate key to a provider): fail closed.
  return upstreamExtProcFilter(config, 'tollgate_upstream', false, {
    processing_mode: ATTEMPT_MODE,
    // Only a cascade's attempts need its signals: other chains do not pay for the attribute.
    request_attributes: cascade ? [...ATTEMPT_ATTRIBUTES, CASCADE_ATTRIBUTE] : [...ATTEMPT_ATTRIBUTES],
    ...(hints || cascade ? { allow_mode_override: true } : {}),
  });
}

/** An ext_proc filter on a provider cluster, talking to Tollgate's upstream role; `rest` is its mode and attributes. */
function upstreamExtProcFilter(config: TollgateConfig, statPrefix: string, failureModeAllow: boolean, rest: object) {
  return {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: {
        envoy_grpc: { cluster_name: EXTPROC_CLUSTER },
        timeout: '5s',
        initial_metadata: [{ key: FILTER_ROLE_METADATA, value: UPSTREAM_ROLE }],
      },
      stat_prefix: statPrefix,
      failure_mode_allow: failureModeAllow,
      message_timeout: seconds(config.envoy.message_timeout_ms),
      ...rest,
    },
  };
}

/**
 * The retry-hint reader on a single provider's cluster (Gemini): only the response headers of each attempt go to
 * Tollgate; a 429/503 switches its (small) error body to BUFFERED, and Tollgate answers it with a Retry-After header
 * from the body's RetryInfo. Requests to other providers pay nothing. Fails open: a hint is not worth an error.
 */
function retryHintFilter(config: TollgateConfig) {
  return upstreamExtProcFilter(config, 'tollgate_retry_hint', true, {
    processing_mode: RETRY_HINT_MODE,
    allow_mode_override: true,
    response_attributes: [ANSWERING_PROVIDER_ATTRIBUTE],
  });
}

/** The retry-hint filter's processing mode (a mode_override must repeat it whole). */
export const RETRY_HINT_MODE = {
  request_header_mode: 'SKIP',
  request_body_mode: 'NONE',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SEND',
  response_body_mode: 'NONE',
  response_trailer_mode: 'SKIP',
} as const;

/** The per-attempt translation filter's processing mode. */
export const ATTEMPT_MODE = {
  request_header_mode: 'SEND',
  request_body_mode: 'BUFFERED',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SEND',
  response_body_mode: 'NONE',
  response_trailer_mode: 'SKIP',
} as const;

export function renderClusters(config: TollgateConfig, options: RenderOptions): object[] {
  return [
    ...Object.entries(config.providers).map(([name, provider]) => renderProviderCluster(name, provider, config, options)),
    ...chainClusters(config, options),
  ];
}
