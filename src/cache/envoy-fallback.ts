import type { TollgateConfig } from '../config/types.ts';
import type { ProcessingModeOverride } from '../pipeline/phases.ts';
import { anyFallbackRule } from './config.ts';

/**
 * How a stale entry or a default response can replace the answer of a failed provider chain.
 *
 * Tollgate normally skips Envoy's response-headers phase (one ext_proc round trip less per request) and learns the
 * status from the first body chunk, when the status line has already left Envoy: too late to answer otherwise.
 * Envoy fixes the route's per-filter config at the start of the request (before Tollgate chose the route), so a
 * per-route processing mode cannot single out the routes with `stale_on_error`; what works is ext_proc's
 * `mode_override`, honoured in the reply to the request headers when the filter has `allow_mode_override`. So when
 * the config has any stale/default rule, chat requests ask Envoy for their response headers; Envoy's retries and
 * fallbacks have run by then, so a 5xx/429 there is the chain's final answer, and its own local replies (no healthy
 * upstream, connect failure, timeout) pass the same phase. Tollgate then answers with an immediate response, which
 * replaces the failed one before anything reached the client.
 */
export const SEND_RESPONSE_HEADERS: ProcessingModeOverride = {
  // Must equal the filter's configured mode except for response headers (Envoy replaces the whole mode).
  request_header_mode: 'SEND',
  request_body_mode: 'BUFFERED',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SEND',
  response_body_mode: 'STREAMED',
  response_trailer_mode: 'SKIP',
};

/** Options for the request-level ext_proc filter: mode overrides allowed only when some route needs them. */
export function fallbackExtProcOptions(config: TollgateConfig): { allow_mode_override?: true } {
  return anyFallbackRule(config.cache) ? { allow_mode_override: true } : {};
}

/**
 * Whether Envoy sends request bodies without waiting for the headers' reply (extproc.eager_request_body). Decided
 * once from the config the bootstrap is rendered from: the filter lives in the bootstrap, which a reload does not
 * change, and Envoy ignores mode overrides in this mode, so stale/default rules keep the classic exchange.
 */
export function eagerRequestBody(config: TollgateConfig): boolean {
  return config.extproc.eager_request_body !== false && !anyFallbackRule(config.cache);
}
