import type { ImmediateReply } from '../pipeline/phases.ts';
import { GatewayError } from './gateway-error.ts';
import { gatewayErrorAsAnthropic } from '../messages/errors.ts';

/** The one place that turns a GatewayError into the OpenAI error shape. */
export function renderOpenAIError(error: GatewayError, extraHeaders: Array<[string, string]> = []): ImmediateReply {
  const body = JSON.stringify({
    error: { message: error.message, type: error.type, code: error.code, param: error.param },
  });
  return {
    kind: 'immediate',
    status: error.status,
    headers: [['content-type', 'application/json'], ...Object.entries(error.headers), ...extraHeaders],
    body,
    details: `tollgate_${error.code}`,
  };
}

/**
 * A GatewayError in the shape of the API the client speaks: Anthropic's for /v1/messages, OpenAI's for everything
 * else (the Responses API shares it).
 */
export function renderGatewayError(error: GatewayError, extraHeaders: Array<[string, string]> = [], dialect: string = 'chat'): ImmediateReply {
  const reply = renderOpenAIError(error, extraHeaders);
  return dialect === 'messages' ? { ...reply, body: gatewayErrorAsAnthropic(error) } : reply;
}

/** Unexpected failures become a 500 without leaking internals to the client. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError({
    status: 500, type: 'api_error', code: 'internal_error',
    message: 'The gateway failed to process the request.',
  });
}
