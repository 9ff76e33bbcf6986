import type { TollgateConfig } from '../config/types.ts';
import { chainMasks, popcount, subsetClusterNames } from './chains.ts';
import { AFFINITY_HEADER, clusterName, INTERNAL_HEADERS, ROUTE_CONFIG_NAME, ROUTE_HEADER, seconds } from './names.ts';
import { ENDPOINT_METADATA_NAMESPACE } from './provider-endpoints.ts';
import { backOff, modelRetries, profileSuffix, retryOn, singleProviderProfile, totalAttempts, type RetryProfile } from './retries.ts';
import { clientRequestIdFromMetadata, METADATA_RESPONSE_HEADERS, responseHeadersFromMetadata, TRACE_ID_HEADER, type MetadataResponseHeader } from './response-headers.ts';

/** The routes (RDS): one per provider and one per chain subset, chosen by the x-tollgate-route header Tollgate sets. */
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

/** A retry goes to another endpoint than the ones already tried (another key or replica, the next provider). */
const PREVIOUS_HOSTS = [{
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
}];

/**
 * Response headers of the provider that the client must not see: its length (Tollgate may rewrite bodies) and every
 * header Tollgate sets itself — above all the provider's own x-ratelimit-*, which describe Tollgate's account with the
 * provider, not the client's quota. Envoy removes them before it adds Tollgate's values from the metadata.
 */
const PROVIDER_RESPONSE_HEADERS_TO_REMOVE = ['content-length', ...METADATA_RESPONSE_HEADERS];

const commonResponseHeaders = [
  header('x-tollgate-attempts', '%UPSTREAM_REQUEST_ATTEMPT_COUNT%'),
  clientRequestIdFromMetadata(),
];

/** Every (provider, retry profile) pair a single-provider request may use: the default one, and each model's own. */
function singleProviderRoutes(config: TollgateConfig): Array<{ provider: string; profile: RetryProfile; suffix: string }> {
  const routes = new Map<string, { provider: string; profile: RetryProfile; suffix: string }>();
  const add = (provider: string, profile: RetryProfile) => {
    const suffix = profileSuffix(config, profile);
    if (!routes.has(provider + suffix)) routes.set(provider + suffix, { provider, profile, suffix });
  };
  for (const name of Object.keys(config.providers)) add(name, singleProviderProfile(config, undefined));
  for (const model of Object.values(config.models)) {
    for (const target of model.targets) add(target.provider, singleProviderProfile(config, model));
  }
  return [...routes.values()];
}

/** A single provider's retry policy: same-provider retries only (its other endpoints first, when it has several). */
function singleProviderRetryPolicy(config: TollgateConfig, profile: RetryProfile) {
  if (profile.numRetries === 0) {
    // Retries off: only failures where the provider cannot have started work, on another endpoint.
    return {
      retry_on: 'connect-failure,refused-stream',
      num_retries: 1,
      per_try_timeout: seconds(config.envoy.upstream_timeout_ms),
      retry_host_predicate: PREVIOUS_HOSTS,
      host_selection_retry_max_attempts: 3,
    };
  }
  return {
    ...retryOn(config),
    num_retries: profile.numRetries,
    per_try_timeout: seconds(config.envoy.upstream_timeout_ms),
    ...backOff(profile),
    // Another endpoint of the provider when it has several; with one, the same endpoint again.
    retry_host_predicate: PREVIOUS_HOSTS,
    host_selection_retry_max_attempts: 3,
  };
}

/**
 * Per-path request body limits (`envoy.max_request_body_bytes_by_path`). The buffer filter enforces its limit when
 * the request headers arrive, before Tollgate has chosen a provider route, so the route matched then is one of these
 * (by path) and its per-route buffer config replaces the listener-wide limit. Tollgate's route header later selects
 * the provider route; these only ever answer 404, like `no_route`.
 */
function bodyLimitRoutes(config: TollgateConfig) {
  const byPath = config.envoy.max_request_body_bytes_by_path ?? {};
  return Object.entries(byPath)
    .sort(([a], [b]) => b.length - a.length)
    .map(([path, bytes], i) => ({
      name: `body_limit_${i}`,
      match: { prefix: path },
      direct_response: { status: 404 },
      typed_per_filter_config: {
        'envoy.filters.http.buffer': {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute',
          buffer: { max_request_bytes: bytes },
        },
      },
    }));
}

export function renderRoutes(config: TollgateConfig) {
  // The trace id header exists only when tracing is on: Envoy formats no header for it otherwise.
  const untraced: MetadataResponseHeader[] = config.tracing.enabled ? [] : [TRACE_ID_HEADER];
  const providerRoutes = singleProviderRoutes(config).map(({ provider: name, profile, suffix }) => ({
    name: `provider_${name}${suffix}`,
    match: { prefix: '/', headers: [{ name: ROUTE_HEADER, string_match: { exact: name + suffix } }] },
    route: {
      cluster: clusterName(name),
      ...providerRouteAction(config),
      retry_policy: singleProviderRetryPolicy(config, profile),
    },
    request_headers_to_remove: INTERNAL_HEADERS,
    response_headers_to_remove: PROVIDER_RESPONSE_HEADERS_TO_REMOVE,
    response_headers_to_add: [
      ...commonResponseHeaders,
      header('x-tollgate-provider', name),
      ...responseHeadersFromMetadata(untraced),
    ],
  }));
  const chainRoutes = Object.entries(config.models).flatMap(([modelName, model]) =>
    chainMasks(model.targets.length).flatMap((mask) => subsetClusterNames(modelName, model, mask).map((name) => {
      const retries = modelRetries(config, model);
      return {
        name,
        match: { prefix: '/', headers: [{ name: ROUTE_HEADER, string_match: { exact: name } }] },
        route: {
          cluster: name,
          ...providerRouteAction(config),
          // Sticky models: Maglev on the user Tollgate put in the affinity header (absent: any endpoint).
          ...(model.load_balancing?.sticky ? { hash_policy: [{ header: { header_name: AFFINITY_HEADER } }] } : {}),
          retry_policy: {
            // A failed attempt is retried on the same provider (1 + max attempts each), then moves to the next
            // provider of the chain: the next priority not tried yet. Any 5xx moves on, not only the listed ones.
            ...retryOn(config),
            retry_on: `5xx,${retryOn(config).retry_on}`,
            num_retries: totalAttempts(model, retries, popcount(mask)) - 1,
            per_try_timeout: seconds(config.envoy.upstream_timeout_ms),
            ...backOff({ baseIntervalMs: retries.base_interval_ms, maxIntervalMs: retries.max_interval_ms, retryAfterMaxMs: retries.retry_after_max_ms }),
            retry_priority: {
              name: 'envoy.retry_priorities.previous_priorities',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
                // Every attempted priority is excluded once per `update_frequency` attempts: with 1 + max, each
                // provider gets its retries before the chain moves on.
                update_frequency: retries.max + 1,
              },
            },
            retry_host_predicate: PREVIOUS_HOSTS,
            host_selection_retry_max_attempts: 5,
          },
        },
        request_headers_to_remove: INTERNAL_HEADERS,
        response_headers_to_remove: PROVIDER_RESPONSE_HEADERS_TO_REMOVE,
        response_headers_to_add: [
          ...commonResponseHeaders,
          header('x-tollgate-provider', `%UPSTREAM_METADATA(${ENDPOINT_METADATA_NAMESPACE}:provider)%`),
          header('x-tollgate-model', `%UPSTREAM_METADATA(${ENDPOINT_METADATA_NAMESPACE}:model)%`),
          // The answering endpoint names the model here, so the request-phase value is not used.
          ...responseHeadersFromMetadata(['x-tollgate-model', ...untraced]),
        ],
      };
    })));
  return {
    '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    name: ROUTE_CONFIG_NAME,
    virtual_hosts: [{
      name: 'tollgate',
      domains: ['*'],
      routes: [
        ...providerRoutes,
        ...chainRoutes,
        ...bodyLimitRoutes(config),
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
