import { SEND_RESPONSE_HEADERS } from '../cache/envoy-fallback.ts';
import type { TollgateConfig } from '../config/types.ts';
import type { ProcessingModeOverride } from '../pipeline/phases.ts';
import { providerAdapter } from './registry.ts';

/**
 * Retry hints that live in an error body (Gemini's `RetryInfo.retryDelay`) become the client's `Retry-After`.
 * A header can only be set while Envoy still holds the response headers, and Tollgate normally skips that phase. So
 * when a configured provider hides its hint in the body, chat and embeddings requests ask for the response headers
 * (one more ext_proc message for those deployments only); on a 429/503 from such a provider, the reply to the headers
 * switches that one response body to BUFFERED, and the reply to the whole body adds `retry-after`. Providers that
 * send the header themselves (OpenAI, Azure, Anthropic) need none of this: Envoy passes their header on.
 */
export function anyRetryHintInBody(config: TollgateConfig): boolean {
  return Object.values(config.providers).some((provider) => providerAdapter(provider.type).retryHintInBody === true);
}

export { SEND_RESPONSE_HEADERS };

/** The mode for the rest of a failed response whose hint is in its body: whole, so headers can still change. */
export const BUFFER_ERROR_BODY: ProcessingModeOverride = { ...SEND_RESPONSE_HEADERS, response_body_mode: 'BUFFERED' };

export const RETRY_HINT_STATUSES: ReadonlySet<number> = new Set([429, 503]);
