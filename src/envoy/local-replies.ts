/**
 * Maps Envoy's own local replies (body too large, no healthy upstream, timeouts, ext_proc failures…) to the OpenAI
 * error shape, so a client never sees Envoy's plain text. Tollgate's own immediate responses are local replies too;
 * they carry response code details starting with `tollgate` and are left untouched by the first mapper.
 */
interface LocalReplyCase {
  /** CEL over Envoy's attributes (response.code, response.code_details, response.flags…). */
  when: string;
  status?: number;
  type: string;
  code: string;
  /** Fixed message; defaults to Envoy's own local reply text. */
  message?: string;
}

const TOLLGATE_REPLY = `response.code_details.startsWith('tollgate')`;

/** The 413 of each path with its own body limit (longest prefix first, as the routes match), then the default. */
function bodyLimitCases(byPath: Readonly<Record<string, number>>): LocalReplyCase[] {
  const paths = Object.keys(byPath).sort((a, b) => b.length - a.length);
  return paths.map((path) => ({
    // Paths are restricted by the config schema to characters that need no escaping in a CEL string.
    when: `response.code == 413 && request.url_path.startsWith('${path}')`,
    type: 'invalid_request_error', code: 'request_too_large',
    message: `Request body is larger than the gateway limit of ${byPath[path]} bytes for ${path}.`,
  }));
}

function cases(maxRequestBytes: number, byPath: Readonly<Record<string, number>>): LocalReplyCase[] {
  return [
    ...bodyLimitCases(byPath),
    {
      when: `response.code == 413`,
      type: 'invalid_request_error', code: 'request_too_large',
      message: `Request body is larger than the gateway limit of ${maxRequestBytes} bytes.`,
    },
    {
      when: `response.code_details.startsWith('ext_proc') || response.code_details.contains('ext_proc_error')`,
      status: 503, type: 'api_error', code: 'gateway_unavailable',
      message: 'The gateway policy engine is unavailable; the request was not sent to any provider.',
    },
    {
      when: `response.code == 503 && response.code_details.contains('no_healthy_upstream')`,
      type: 'api_error', code: 'provider_unavailable', message: 'No healthy provider endpoint is available.',
    },
    {
      // Nothing listening, refused, TLS handshake failed: the provider (every provider of a chain) is down.
      when: `response.code == 503 && response.code_details.contains('connection_failure')`,
      type: 'api_error', code: 'provider_unavailable', message: 'No provider could be reached (connection failed).',
    },
    {
      // The provider took the request and dropped the connection before answering (Envoy answers 502 when the
      // connection broke mid-response, a protocol error, before a byte reached the client).
      when: `response.code == 503 || response.code == 502`,
      status: 502, type: 'api_error', code: 'provider_unreachable',
      message: 'The provider could not be reached (connection failed or was reset).',
    },
    {
      when: `response.code == 504`,
      type: 'api_error', code: 'provider_timeout', message: 'The provider did not answer in time.',
    },
    {
      when: `response.code == 408`,
      type: 'api_error', code: 'stream_idle_timeout', message: 'The request timed out while idle.',
    },
    {
      when: `response.code == 404`,
      type: 'invalid_request_error', code: 'unknown_url', message: 'Unknown request URL.',
    },
    { when: `response.code >= 400 && response.code < 500`, type: 'invalid_request_error', code: 'bad_request' },
    { when: `response.code >= 500`, type: 'api_error', code: 'gateway_error' },
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
      ...cases(maxRequestBytes, byPath).map((c) => ({
        filter: celFilter(`!(${TOLLGATE_REPLY}) && (${c.when})`),
        ...(c.status ? { status_code: c.status } : {}),
        body_format_override: {
          json_format: {
            error: { message: c.message ?? '%LOCAL_REPLY_BODY%', type: c.type, code: c.code, param: null },
          },
          content_type: 'application/json',
        },
      })),
    ],
  };
}
