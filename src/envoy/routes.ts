import type { TollgateConfig } from '../config/types.ts';
import { chainClusterName, chainMasks, popcount } from './chains.ts';
import { clusterName, INTERNAL_HEADERS, ROUTE_CONFIG_NAME, ROUTE_HEADER, seconds } from './names.ts';
import { ENDPOINT_METADATA_NAMESPACE } from './provider-endpoints.ts';
import { METADATA_RESPONSE_HEADERS, responseHeadersFromMetadata } from './response-headers.ts';

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
];

export function renderRoutes(config: TollgateConfig) {
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
        retry_host_predicate: PREVIOUS_HOSTS,
        host_selection_retry_max_attempts: 3,
      },
    },
    request_headers_to_remove: INTERNAL_HEADERS,
    response_headers_to_remove: PROVIDER_RESPONSE_HEADERS_TO_REMOVE,
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
          ...responseHeadersFromMetadata(['x-tollgate-model']),
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
