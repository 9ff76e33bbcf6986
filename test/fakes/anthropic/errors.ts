/** Anthropic-shaped errors: the `ApiError` thrown by validation, its JSON body, and what injected status faults answer. */

export class ApiError extends Error {
  status: number;
  type: string;
  constructor(status: number, message: string, type = 'invalid_request_error') {
    super(message);
    this.status = status;
    this.type = type;
  }
}

/** `{"type":"error","error":{"type","message"},"request_id"}` as the real API sends it. */
export function errorBody(type: string, message: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
}

/** The error type and default message the real API uses for each status it answers. */
const STATUS_ERRORS: Readonly<Record<number, { type: string; message: string }>> = {
  400: { type: 'invalid_request_error', message: 'Injected fault: invalid request.' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'The requested resource could not be found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit.' },
  500: { type: 'api_error', message: 'Internal server error' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

/** The error an injected `status` fault answers with. */
export function statusFaultError(status: number, message: string | undefined): ApiError {
  const known = STATUS_ERRORS[status] ?? (status >= 500 ? STATUS_ERRORS[500] : STATUS_ERRORS[400]);
  return new ApiError(status, message ?? known?.message ?? `Injected fault: status ${status}.`, known?.type);
}

/** How pydantic (behind the real API) names a value's type in its messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'dict' : typeof v;
}

export function required(loc: string): ApiError {
  return new ApiError(400, `${loc}: Field required`);
}
export function extra(loc: string): ApiError {
  return new ApiError(400, `${loc}: Extra inputs are not permitted`);
}
export function typeError(loc: string, expected: string, v: unknown): ApiError {
  return new ApiError(400, `${loc}: Input should be ${expected} (got ${describe(v)})`);
}
export function invalid(loc: string, message: string): ApiError {
  return new ApiError(400, `${loc}: ${message}`);
}
