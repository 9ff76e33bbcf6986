import type { OpenAIErrorType } from '../../errors/gateway-error.ts';
import { openAIErrorTypeFor } from '../shared/errors.ts';
import type { ProviderErrorInfo } from '../shared/errors.ts';

/**
 * The HTTP status Anthropic uses for each of its error types. A mid-stream `event: error` carries only the type,
 * so this is how such an error gets the OpenAI type a client would have seen for the same failure as a status.
 */
const STATUS_OF_ERROR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic's error type for an HTTP status (the reverse table; statuses Anthropic never sends get the nearest). */
const ERROR_TYPE_OF_STATUS: Readonly<Record<number, string>> = {
  ...Object.fromEntries(Object.entries(STATUS_OF_ERROR_TYPE).map(([type, status]) => [status, type])),
  // Tollgate's own 503s (no provider left, store down) mean what Anthropic says with 529.
  503: 'overloaded_error',
};

export function anthropicErrorTypeFor(status: number): string {
  return ERROR_TYPE_OF_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** Whether a string is one of Anthropic's error types (a provider's own type kept as an OpenAI error `code`). */
export function isAnthropicErrorType(type: unknown): type is string {
  return typeof type === 'string' && type in STATUS_OF_ERROR_TYPE;
}

export function openAIErrorTypeForAnthropic(errorType: string): OpenAIErrorType {
  return openAIErrorTypeFor(STATUS_OF_ERROR_TYPE[errorType] ?? 500);
}

/** Anthropic errors read `{"type":"error","error":{"type":"rate_limit_error","message":"…"}}`; the type becomes `code`. */
export function readAnthropicError(parsed: unknown): ProviderErrorInfo | null {
  const error = (parsed as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return null;
  const e = error as { type?: unknown; message?: unknown };
  return {
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.type === 'string' ? e.type : null,
    param: null,
  };
}
