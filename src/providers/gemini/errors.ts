import type { ProviderErrorInfo } from '../shared/errors.ts';

/**
 * Reads Google's error body, `{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED","details":[…]}}`: the
 * message is kept and Google's status string becomes the OpenAI `code`. Google's front end answers some failures
 * (an unknown URL) with an HTML page instead; toOpenAIErrorBody keeps that text.
 */
export function readGoogleError(parsed: unknown): ProviderErrorInfo | null {
  // A stream answers a failure as a one-element array of the error object.
  const root = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: unknown } | undefined;
  const error = root?.error as { message?: unknown; status?: unknown; code?: unknown } | undefined;
  if (!error || typeof error !== 'object') return null;
  return {
    message: typeof error.message === 'string' ? error.message : '',
    code: typeof error.status === 'string' ? error.status : error.code != null ? String(error.code) : null,
  };
}

/**
 * Google's retry hint: the `google.rpc.RetryInfo` detail of an error (`"retryDelay": "2s"`, or `"1.500s"`), in
 * whole seconds rounded up, or null when the body has none. Google sends no Retry-After header.
 */
export function googleRetryDelaySeconds(raw: Buffer): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  const root = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: { details?: unknown } } | undefined;
  const details = root?.error?.details;
  if (!Array.isArray(details)) return null;
  for (const detail of details) {
    const d = detail as { '@type'?: unknown; retryDelay?: unknown };
    if (typeof d?.['@type'] !== 'string' || !d['@type'].endsWith('google.rpc.RetryInfo')) continue;
    const match = typeof d.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
    if (match) return Math.max(1, Math.ceil(Number(match[1])));
  }
  return null;
}
