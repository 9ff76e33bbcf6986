/**
 * The Envoy attributes Tollgate asks for, and how its two ext_proc filters tell themselves apart.
 * Envoy sends attributes as a Struct keyed by the expression text (see messages.ts).
 */
/** Envoy keys the attributes by the filter's canonical name, whatever the filter is called in the config. */
export const ATTRIBUTES_KEY = 'envoy.filters.http.ext_proc';

const endpointLabel = (key: string) => `xds.upstream_host_metadata.filter_metadata['tollgate']['${key}']`;

/** The response status, sent with the response body because response headers are not sent (one round trip less). */
export const RESPONSE_CODE_ATTRIBUTE = 'response.code';
/** Which provider endpoint answered (chains: Envoy chose it) and the model it was asked for. */
export const ANSWERING_PROVIDER_ATTRIBUTE = endpointLabel('provider');
export const ANSWERING_MODEL_ATTRIBUTE = endpointLabel('model');

/** How many attempts Envoy's router made (same-provider retries and fallbacks together). */
export const ATTEMPT_COUNT_ATTRIBUTE = 'upstream.request_attempt_count';
/**
 * Chain endpoints not in the chain's last priority carry 1 + retries: after every that many attempts Envoy excludes
 * the priorities tried (previous_priorities' update_frequency), and the upstream filter keeps the provider's
 * Retry-After from delaying that move (see attempt-handler.ts).
 */
export const FALLBACK_EVERY_ATTRIBUTE = endpointLabel('fallback_every');

/** Cascade steps before the last carry their cascade's model name (its config says what escalates; see cascade.ts); asked for on cascades' clusters only. */
export const CASCADE_ATTRIBUTE = endpointLabel('cascade');

/** Attributes of the request-level filter's response phase. */
export const RESPONSE_ATTRIBUTES = [RESPONSE_CODE_ATTRIBUTE, ANSWERING_PROVIDER_ATTRIBUTE, ANSWERING_MODEL_ATTRIBUTE, ATTEMPT_COUNT_ATTRIBUTE] as const;
/** Attributes of each attempt in the upstream filter: the endpoint Envoy picked for it. */
export const ATTEMPT_ATTRIBUTES = [ANSWERING_PROVIDER_ATTRIBUTE, ANSWERING_MODEL_ATTRIBUTE, FALLBACK_EVERY_ATTRIBUTE] as const;

/** gRPC metadata the upstream filter sends, so one Tollgate port serves both filters. */
export const FILTER_ROLE_METADATA = 'x-tollgate-filter';
export const UPSTREAM_ROLE = 'upstream';
