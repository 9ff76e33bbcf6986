import type { GatewayError } from '../errors/gateway-error.ts';
import { anthropicErrorTypeFor, isAnthropicErrorType } from '../providers/anthropic/errors.ts';

/**
 * Errors in Anthropic's shape, `{"type":"error","error":{"type":"invalid_request_error","message":"…"}}`, for clients
 * of POST /v1/messages: Tollgate's own (auth, policy, quota, bad input) and every provider's, which the route stage
 * has already read into OpenAI's shape. The status stays; the type is Anthropic's for that status, or the one an
 * Anthropic provider itself gave (kept as the OpenAI error's `code`).
 */
export function anthropicErrorJson(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

export function gatewayErrorAsAnthropic(error: GatewayError): string {
  return anthropicErrorJson(isAnthropicErrorType(error.code) ? error.code : anthropicErrorTypeFor(error.status), error.message);
}

/** An OpenAI-shaped error (object or body) → Anthropic's; the status decides the type unless the code is Anthropic's. */
export function openAIErrorAsAnthropic(status: number, error: unknown): string {
  const e = (error ?? {}) as { message?: unknown; code?: unknown };
  const type = isAnthropicErrorType(e.code) ? e.code : anthropicErrorTypeFor(status);
  return anthropicErrorJson(type, typeof e.message === 'string' && e.message ? e.message : `The request failed with HTTP ${status}.`);
}

export function openAIErrorBodyAsAnthropic(status: number, raw: Buffer): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    const text = raw.toString('utf8').trim();
    return Buffer.from(anthropicErrorJson(anthropicErrorTypeFor(status), text ? text.slice(0, 500) : `The request failed with HTTP ${status}.`));
  }
  // Already Anthropic's shape (an Envoy local reply never is, but a future passthrough might be).
  if ((parsed as { type?: unknown } | null)?.type === 'error') return raw;
  return Buffer.from(openAIErrorAsAnthropic(status, (parsed as { error?: unknown } | null)?.error));
}
