import { DIALECT_METADATA_KEY, RESPONSE_HEADERS_NAMESPACE } from './response-headers.ts';

/**
 * Maps Envoy's own local replies (body too large, no healthy upstream, timeouts, ext_proc failures…) to the OpenAI
 * error shape, so a client never sees Envoy's plain text. Tollgate's own immediate responses are local replies too;
 * they carry response code details starting with `tollgate` and are left untouched by the first mapper. Clients of
 * Anthropic's Messages API get each case in Anthropic's error shape instead.
 */
interface LocalReplyCase {
  /** CEL over Envoy's attributes (response.code, response.code_details, response.flags…). */
  when: string;
  status?: number;
  type: string;
  code: string;
  /** Fixed message; defaults to Envoy's own local reply text. */
  message?: string;
  /** The error type an Anthropic client (POST /v1/messages) gets for this case. */
  anthropicType: string;
}

const TOLLGATE_REPLY = `response.code_details.startsWith('tollgate')`;
/**
 * Anthropic's Messages API (src/messages/paths.ts): its clients get Anthropic's error shape. Once Tollgate has seen the
 * request, its dialect is in the dynamic metadata (the path may since have been rewritten for a provider: a chat
 * request to Anthropic goes to /v1/messages); before that (body too large, ext_proc down) the path is the client's.
 */
const DIALECT = `metadata.filter_metadata['${RESPONSE_HEADERS_NAMESPACE}']['${DIALECT_METADATA_KEY}']`;
const MESSAGES_REQUEST = `(('${RESPONSE_HEADERS_NAMESPACE}' in metadata.filter_metadata && '${DIALECT_METADATA_KEY}' in metadata.filter_metadata['${RESPONSE_HEADERS_NAMESPACE}']) ? ${DIALECT} == 'messages' : request.path.startsWith('/v1/messages'))`;

/** The 413 of each path with its own body limit (longest prefix first, as the routes match), then the default. */
function bodyLimitCases(byPath: Readonly<Record<string, number>>): LocalReplyCase[] {
  const paths = Object.keys(byPath).sort((a, b) => b.length - a.length);
  return paths.map((path) => ({
    // Paths are restricted by the config schema to characters that need no escaping in a CEL string.
    when: `response.code == 413 && request.url_path.startsWith('${path}')`,
    type: 'invalid_request_error', code: 'request_too_large', anthropicType: 'request_too_large',
    message: `Request body is larger than the gateway limit of ${byPath[path]} bytes for ${path}.`,
  }));
}

function cases(maxRequestBytes: number, byPath: Readonly<Record<string, number>>): LocalReplyCase[] {
  return [
    ...bodyLimitCases(byPath),
    {
      when: `response.code == 413`,
      type: 'invalid_request_error', code: 'request_too_large', anthropicType: 'request_too_large',
      message: `Request body is larger than the gateway limit of ${maxRequestBytes} bytes.`,
    },
    {
      when: `response.code_details.startsWith('ext_proc') || response.code_details.contains('ext_proc_error')`,
      status: 503, type: 'api_error', code: 'gateway_unavailable', anthropicType: 'overloaded_error',
      message: 'The gateway policy engine is unavailable; the request was not sent to any provider.',
    },
    {
      when: `response.code == 503 && response.code_details.contains('no_healthy_upstream')`,
      type: 'api_error', anthropicType: 'overloaded_error', code: 'provider_unavailable', message: 'No healthy provider endpoint is available.',
    },
    {
      // Nothing listening, refused, TLS handshake failed: the provider (every provider of a chain) is down.
      when: `response.code == 503 && response.code_details.contains('connection_failure')`,
      type: 'api_error', anthropicType: 'overloaded_error', code: 'provider_unavailable', message: 'No provider could be reached (connection failed).',
    },
    {
      // The provider took the request and dropped the connection before answering (Envoy answers 502 when the
      // connection broke mid-response, a protocol error, before a byte reached the client).
      when: `response.code == 503 || response.code == 502`,
      status: 502, type: 'api_error', code: 'provider_unreachable', anthropicType: 'api_error',
      message: 'The provider could not be reached (connection failed or was reset).',
    },
    {
      when: `response.code == 504`,
      type: 'api_error', code: 'provider_timeout', anthropicType: 'timeout_error', message: 'The provider did not answer in time.',
    },
    {
      when: `response.code == 408`,
      type: 'api_error', code: 'stream_idle_timeout', anthropicType: 'timeout_error', message: 'The request timed out while idle.',
    },
    {
      when: `response.code == 404`,
      type: 'invalid_request_error', code: 'unknown_url', anthropicType: 'not_found_error', message: 'Unknown request URL.',
    },
    { when: `response.code >= 400 && response.code < 500`, type: 'invalid_request_error', code: 'bad_request', anthropicType: 'invalid_request_error' },
    { when: `response.code >= 500`, type: 'api_error', code: 'gateway_error', anthropicType: 'api_error' },
  ];
}

function celFilter(expression: string) {
  return {
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter',
        expression,
      },
    },
  };
}

export function renderLocalReplyConfig(maxRequestBytes: number, byPath: Readonly<Record<string, number>> = {}) {
  return {
    mappers: [
      // First match wins: Tollgate's own OpenAI-shaped errors pass unchanged.
      { filter: celFilter(TOLLGATE_REPLY) },
      ...cases(maxRequestBytes, byPath).flatMap((c) => [
        {
          filter: celFilter(`!(${TOLLGATE_REPLY}) && ${MESSAGES_REQUEST} && (${c.when})`),
          ...(c.status ? { status_code: c.status } : {}),
          body_format_override: {
            json_format: { type: 'error', error: { type: c.anthropicType, message: c.message ?? '%LOCAL_REPLY_BODY%' } },
            content_type: 'application/json',
          },
        },
        {
          filter: celFilter(`!(${TOLLGATE_REPLY}) && (${c.when})`),
          ...(c.status ? { status_code: c.status } : {}),
          body_format_override: {
            json_format: {
              error: { message: c.message ?? '%LOCAL_REPLY_BODY%', type: c.type, code: c.code, param: null },
            },
            content_type: 'application/json',
          },
        },
      ]),
    ],
  };
}
