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
