import type { OpenAIErrorType } from '../../errors/gateway-error.ts';

/** What a provider said about its failure, in its own words. */
export interface ProviderErrorInfo {
  message: string;
  /** The provider's own error type or code (e.g. `rate_limit_error`, `RESOURCE_EXHAUSTED`), kept as `code`. */
  code?: string | null;
  param?: string | null;
}

/** The OpenAI error type a client expects for an HTTP status (what OpenAI itself sends for that status). */
export function openAIErrorTypeFor(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

/**
 * Whether a body is already the OpenAI error a client should get for this status: `error` with a string `message`
 * and `code`, a `param` key, and the type OpenAI gives the status. Envoy's own replies on a provider's route (reset,
 * no healthy endpoint, timeout) are, through its local reply mappers. Anthropic's errors (no `param`), Google's (a
 * numeric `code`) and OpenAI's own 429/5xx (`type: "requests"`, `"server_error"`) are not, and are rewritten.
 */
function isFinalOpenAIError(parsed: unknown, status: number): boolean {
  const error = (parsed as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return false;
  const e = error as Record<string, unknown>;
  return typeof e.message === 'string' && typeof e.code === 'string' && Object.hasOwn(e, 'param') && e.type === openAIErrorTypeFor(status);
}

/**
 * A provider error body as OpenAI shape. `read` pulls message/code out of the provider's JSON; a body that is not
 * JSON (an HTML error page from a proxy, say) keeps its text, shortened, as the message. A body already in the
 * OpenAI shape passes unchanged: read as the provider's own, Envoy's `provider_unreachable` would lose its code.
 */
export function toOpenAIErrorBody(status: number, raw: Buffer, provider: string, read: (parsed: unknown) => ProviderErrorInfo | null): Buffer {
  const text = raw.toString('utf8');
  let info: ProviderErrorInfo | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isFinalOpenAIError(parsed, status)) return raw;
    info = read(parsed);
  } catch {
    info = null;
  }
  const message = info?.message || (text.trim() ? text.trim().slice(0, 500) : `${provider} answered HTTP ${status}.`);
  return Buffer.from(JSON.stringify({
    error: { message, type: openAIErrorTypeFor(status), code: info?.code ?? null, param: info?.param ?? null },
  }));
}

/** The event appended to a stream that ended before the provider's end marker: never a clean end. */
export function streamTruncatedEvent(): string {
  return `data: ${JSON.stringify({
    error: {
      message: 'The provider ended the stream before it was complete.',
      type: 'api_error',
      code: 'stream_truncated',
      param: null,
    },
  })}\n\n`;
}
