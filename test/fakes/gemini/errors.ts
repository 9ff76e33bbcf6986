/**
 * Google-shaped errors, `{"error":{"code","message","status","details"}}`: the `GoogleError` thrown by validation,
 * the canned answers of the real API (keys, unknown models, faults) and the HTML page Google's front end serves
 * for an unknown URL.
 */

/** HTTP status → Google's canonical status string and the message the real API sends with it. */
const CANONICAL: Readonly<Record<number, readonly [string, string]>> = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  401: ['UNAUTHENTICATED', 'Request had invalid authentication credentials.'],
  403: ['PERMISSION_DENIED', 'The caller does not have permission'],
  404: ['NOT_FOUND', 'Requested entity was not found.'],
  409: ['ABORTED', 'The operation was aborted.'],
  429: ['RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'],
  499: ['CANCELLED', 'The operation was cancelled.'],
  500: ['INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'],
  501: ['UNIMPLEMENTED', 'Operation is not implemented, or supported, or enabled.'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'The request timed out. Please try again.'],
};

export function statusName(status: number): string {
  return CANONICAL[status]?.[0] ?? (status >= 500 ? 'INTERNAL' : status === 400 ? 'INVALID_ARGUMENT' : 'FAILED_PRECONDITION');
}

export class GoogleError extends Error {
  readonly status: number;
  readonly details: unknown[];

  constructor(status: number, message: string, details: unknown[] = []) {
    super(message);
    this.status = status;
    this.details = details;
  }

  body(): string {
    const error: Record<string, unknown> = { code: this.status, message: this.message, status: statusName(this.status) };
    if (this.details.length > 0) error.details = this.details;
    return JSON.stringify({ error });
  }
}

/** A 400 about one field, with the BadRequest detail the real API attaches. */
export function fieldError(field: string, description: string): GoogleError {
  return new GoogleError(400, description, [
    { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] },
  ]);
}

/** A semantic check of the request, in the real API's `* GenerateContentRequest.<field>: <what>` form. */
export function requestError(message: string, field: string, what: string): GoogleError {
  return new GoogleError(400, `* ${message}.${field}: ${what}\n`);
}

export function missingKeyError(): GoogleError {
  return new GoogleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
}

export function invalidKeyError(): GoogleError {
  return new GoogleError(400, 'API key not valid. Please pass a valid API key.', [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
  ]);
}

/** Tollgate must never put the key in the URL; Google would accept it, this fake refuses it so tests notice. */
export function keyInUrlError(): GoogleError {
  return new GoogleError(400, 'The API key was sent in the URL (key= query parameter). Send it in the x-goog-api-key header: a key in a URL leaks into access logs.');
}

export function modelNotFoundError(model: string, method: string): GoogleError {
  return new GoogleError(404, `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
}

/** The error an injected `status` fault answers with (Retry-After also as Google's RetryInfo detail). */
export function statusFaultError(status: number, message: string | undefined, retryAfterSeconds: number | undefined): GoogleError {
  const details = retryAfterSeconds !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` }] : [];
  return new GoogleError(status, message ?? CANONICAL[status]?.[1] ?? `Injected fault: status ${status}.`, details);
}

/** Google's front end answers an unknown path with an HTML page, not JSON. */
export function notFoundPage(method: string, path: string): string {
  return `<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>${path.replace(/[<>&]/g, '')}</code> was not found on this server (${method}).  <ins>That’s all we know.</ins>\n`;
}
