/** OpenAI-shaped errors: the `ApiError` thrown by validation, its JSON body, and the canned messages of the real API. */

export class ApiError extends Error {
  status: number;
  type: string;
  param: string | null;
  code: string | null;
  constructor(status: number, message: string, param: string | null = null, code: string | null = null, type = 'invalid_request_error') {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }
}

export function errorBody(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export const PARSE_ERROR_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
  'The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, ' +
  'please contact us through our help center at help.openai.com.)';
const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
  '(i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.';

/** The 401 for a missing or wrong `Authorization` header, with the key masked like the real API does. */
export function invalidKeyError(auth: string | undefined): ApiError {
  let msg = MISSING_KEY_MESSAGE;
  if (auth !== undefined && auth !== '') {
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : auth;
    const masked = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 20))}${key.slice(-4)}` : key.replace(/./g, '*');
    msg = `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`;
  }
  return new ApiError(401, msg, null, 'invalid_api_key');
}

/** The error an injected `status` fault answers with. */
export function statusFaultError(status: number, message: string | undefined): ApiError {
  if (status === 429) return new ApiError(429, message ?? 'Rate limit reached for requests. Please try again later.', null, 'rate_limit_exceeded', 'requests');
  if (status >= 500) {
    const m =
      status === 503 ? 'The server is overloaded or not ready yet.'
      : status === 502 ? 'Bad gateway.'
      : status === 504 ? 'Gateway timeout.'
      : 'The server had an error while processing your request. Sorry about that!';
    return new ApiError(status, message ?? m, null, null, 'server_error');
  }
  return new ApiError(status, message ?? `Injected fault: status ${status}.`, null, null);
}

/** How the real API names the type of a value in its messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return 'a string';
    case 'boolean': return 'a boolean';
    case 'number': return Number.isInteger(v) ? 'an integer' : 'a decimal';
    case 'object': return 'an object';
    default: return typeof v;
  }
}

export function typeError(param: string, expected: string, v: unknown): ApiError {
  return new ApiError(400, `Invalid type for '${param}': expected ${expected}, but got ${describe(v)} instead.`, param, 'invalid_type');
}
export function missing(param: string): ApiError {
  return new ApiError(400, `Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}
export function invalidValue(param: string, v: unknown, allowed: readonly string[]): ApiError {
  const list = allowed.map((a) => `'${a}'`);
  const joined = list.length > 1 ? `${list.slice(0, -1).join(', ')}, and ${list[list.length - 1]}` : (list[0] ?? '');
  return new ApiError(400, `Invalid value: '${String(v)}'. Supported values are: ${joined}.`, param, 'invalid_value');
}
export function unrecognized(name: string): ApiError {
  return new ApiError(400, `Unrecognized request argument supplied: ${name}`);
}
export function emptyArray(param: string): ApiError {
  return new ApiError(400, `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`, param, 'empty_array');
}
