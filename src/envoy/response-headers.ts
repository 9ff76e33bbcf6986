/**
 * Response headers that Tollgate decides during the request phase (cache status, rate-limit state) but that must
 * reach the client on proxied responses too. Tollgate does not take part in Envoy's response-headers phase (one
 * ext_proc round trip less per request), so it hands their values to Envoy as dynamic metadata in its request-phase
 * reply, and the route adds each header from that metadata (`%DYNAMIC_METADATA(ns:key)%`); a header whose metadata
 * is absent renders empty and is left out. Immediate responses (errors, cache hits) carry them directly.
 */
export const RESPONSE_HEADERS_NAMESPACE = 'tollgate.response_headers';

/** Every header a stage may set through ctx.responseHeaders; Envoy's routes list them once, so keep this closed. */
export const REQUEST_ID_HEADER = 'x-tollgate-request-id';
/** The request's trace id (config `tracing`), also in its usage record. */
export const TRACE_ID_HEADER = 'x-tollgate-trace-id';

/**
 * The header the official OpenAI SDKs read into `_request_id` (Node, Python) and their errors' request id. OpenAI
 * and Azure send their own and it stays; for every other provider, and for Tollgate's own answers, it is Tollgate's
 * request id, so a client always has an id to quote, and the one the ledger and logs know when the provider gave none.
 */
export const CLIENT_REQUEST_ID_HEADER = 'x-request-id';

/** The request-id headers of an answer Tollgate gives itself (errors, cache hits, stored responses). */
export function requestIdHeaders(requestId: string): Array<[string, string]> {
  return [[REQUEST_ID_HEADER, requestId], [CLIENT_REQUEST_ID_HEADER, requestId]];
}

/**
 * Not a header: the client's dialect (chat, responses, messages), carried in the same metadata so that Envoy's local
 * reply mappers (src/envoy/local-replies.ts) can shape an error for the client's API even after Tollgate rewrote the
 * request's path for a provider (a chat request to Anthropic goes to /v1/messages). No route copies it to a header.
 */
export const DIALECT_METADATA_KEY = 'dialect';

/** The route's entry that gives a proxied answer Tollgate's request id as x-request-id when the provider sent none. */
export function clientRequestIdFromMetadata(): object {
  return { header: { key: CLIENT_REQUEST_ID_HEADER, value: metadataValue(REQUEST_ID_HEADER) }, append_action: 'ADD_IF_ABSENT' };
}

export const METADATA_RESPONSE_HEADERS = [
  REQUEST_ID_HEADER,
  TRACE_ID_HEADER,
  'x-tollgate-model',
  /** Which strategy chose the model or target (cost, semantic, latency, policy), when one did. */
  'x-tollgate-strategy',
  'x-tollgate-cache',
  'x-tollgate-cache-verify',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
] as const;

export type MetadataResponseHeader = (typeof METADATA_RESPONSE_HEADERS)[number];

/** The metadata value of one of these headers, as an Envoy format string. */
export const metadataValue = (name: MetadataResponseHeader) => `%DYNAMIC_METADATA(${RESPONSE_HEADERS_NAMESPACE}:${name})%`;

/** The route's response_headers_to_add entries that copy the metadata into headers (but those the route sets itself). */
export function responseHeadersFromMetadata(except: readonly MetadataResponseHeader[] = []): object[] {
  return METADATA_RESPONSE_HEADERS.filter((name) => !except.includes(name)).map((name) => ({
    header: { key: name, value: metadataValue(name) },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
  }));
}
