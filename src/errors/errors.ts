import { GatewayError } from './gateway-error.ts';

/** Constructors for the errors Tollgate raises, so statuses and codes stay consistent. */
export const errors = {
  badRequest: (message: string, param: string | null = null, code = 'invalid_request') =>
    new GatewayError({ status: 400, type: 'invalid_request_error', code, message, param }),
  missingKey: () =>
    new GatewayError({
      status: 401, type: 'authentication_error', code: 'missing_api_key',
      message: 'No API key provided. Send your Tollgate virtual key as "Authorization: Bearer <key>".',
    }),
  invalidKey: (reason: 'unknown' | 'revoked' | 'expired') =>
    new GatewayError({
      status: 401, type: 'authentication_error', code: 'invalid_api_key',
      message: reason === 'unknown' ? 'Incorrect API key provided.' : `The API key provided has been ${reason}.`,
    }),
  invalidToken: () =>
    new GatewayError({
      status: 401, type: 'authentication_error', code: 'invalid_token',
      message: 'The bearer token is not a valid JWT from a trusted issuer (signature, issuer, audience or expiry).',
    }),
  unknownTenant: (missing: string | null) =>
    new GatewayError({
      status: 403, type: 'permission_error', code: 'unknown_tenant',
      message: missing
        ? `The token has no usable \`${missing}\` claim to name its tenant.`
        : 'The token names an org, team or app that is not configured.',
    }),
  tooManyAuthFailures: (retryAfterSeconds: number) =>
    new GatewayError({
      status: 429, type: 'rate_limit_error', code: 'too_many_auth_failures',
      message: `Too many failed authentications from this address; retry in ${retryAfterSeconds} s.`,
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  modelNotFound: (model: string) =>
    new GatewayError({
      status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model',
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
    }),
  capabilityNotSupported: (model: string, capability: string, param: string) =>
    new GatewayError({
      status: 400, type: 'invalid_request_error', code: 'capability_not_supported', param,
      message: `The model \`${model}\` cannot serve this request: it needs ${capability}, and none of the providers that may serve it declares it.`,
    }),
  contextTooLong: (model: string, window: number, needed: number) =>
    new GatewayError({
      status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages',
      message: `The model \`${model}\` has a maximum context length of ${window} tokens; this request needs about ${needed} (messages and tools plus max_tokens). Shorten the messages or lower max_tokens.`,
    }),
  requestNotFound: (requestId: string) =>
    new GatewayError({
      status: 404, type: 'invalid_request_error', code: 'request_not_found', param: 'request_id',
      message: `No request \`${requestId}\` of this app is in the usage ledger (yet: records arrive within the ledger's flush interval).`,
    }),
  feedbackUnavailable: () =>
    new GatewayError({
      status: 503, type: 'api_error', code: 'feedback_unavailable',
      message: 'Feedback needs the usage ledger, which this gateway does not run (ledger.sink).',
    }),
  modelNotAllowed: (model: string, reason: string) =>
    new GatewayError({
      status: 403, type: 'permission_error', code: 'model_not_allowed', param: 'model',
      message: `The model \`${model}\` is not allowed: ${reason}.`,
    }),
  noAllowedProvider: (model: string, reasons: string[]) =>
    new GatewayError({
      status: 403, type: 'permission_error', code: 'no_allowed_provider', param: 'model',
      message: `No provider may serve \`${model}\` for this request${reasons.length ? `: ${reasons.join('; ')}` : ''}.`,
    }),
  policyDenied: (reasons: string[], decisionId: string) =>
    new GatewayError({
      status: 403, type: 'permission_error', code: 'policy_denied',
      message: `Request denied by policy${reasons.length ? `: ${reasons.join('; ')}` : ''}.`,
      headers: { 'x-tollgate-decision-id': decisionId },
    }),
  policyUnavailable: (decisionId: string) =>
    new GatewayError({
      status: 503, type: 'api_error', code: 'policy_unavailable',
      message: 'The gateway could not evaluate its policy; no provider was called. Retry shortly.',
      headers: { 'x-tollgate-decision-id': decisionId },
    }),
  unknownUrl: (method: string, path: string) =>
    new GatewayError({
      status: 404, type: 'invalid_request_error', code: 'unknown_url',
      message: `Unknown request URL: ${method} ${path}.`,
    }),
  storeUnavailable: () =>
    new GatewayError({
      status: 503, type: 'api_error', code: 'store_unavailable',
      message: 'The gateway cannot check keys right now; retry shortly.',
    }),
  providerUnavailable: (provider: string, detail: string) =>
    new GatewayError({
      status: 503, type: 'api_error', code: 'provider_unavailable',
      message: `Provider ${provider} is not available: ${detail}.`,
    }),
  guardrailUnavailable: (guardrail: string, reason: string) =>
    new GatewayError({
      status: 503, type: 'api_error', code: 'guardrail_unavailable',
      message: `Guardrail ${guardrail} could not check the request (${reason}); no provider was called. Retry shortly.`,
    }),
  contentFiltered: (guardrail: string, categories: string[]) =>
    new GatewayError({
      status: 400, type: 'invalid_request_error', code: 'content_filter',
      message: `The request was blocked by guardrail ${guardrail}${categories.length ? ` (${categories.join(', ')})` : ''}.`,
    }),
};
