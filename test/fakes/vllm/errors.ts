/**
 * vLLM's error shapes: its own `{"object":"error","message","type","param","code"}` (type named after the HTTP
 * status, code the status number), pydantic's validation messages inside it, FastAPI's `{"detail"}` for unknown
 * routes, and the API-key middleware's bare `{"error":"Unauthorized"}`.
 */
import { ApiError } from '../openai/errors.ts';

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'BadRequestError',
  401: 'UnauthorizedError',
  404: 'NotFoundError',
  429: 'TooManyRequestsError',
  500: 'InternalServerError',
  501: 'NotImplementedError',
  503: 'ServiceUnavailableError',
};

export class VllmError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }

  get body(): string {
    const type = TYPE_BY_STATUS[this.status] ?? (this.status >= 500 ? 'InternalServerError' : 'BadRequestError');
    return JSON.stringify({ object: 'error', message: this.message, type, param: null, code: this.status });
  }
}

/** The OpenAI fake's validators throw OpenAI-worded errors; vLLM wraps the same complaint in its own shape. */
export function fromApiError(e: ApiError): VllmError {
  return new VllmError(e.status, e.message);
}

/** Python's repr of a JSON value, as pydantic prints the offending input. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** One pydantic validation error of a body field, as vLLM reports it (400). */
export function pydanticError(type: string, field: string, msg: string, input: unknown): VllmError {
  return new VllmError(400, `[{'type': '${type}', 'loc': ('body', '${field}'), 'msg': '${msg}', 'input': ${pyRepr(input)}}]`);
}

export const extraForbidden = (field: string, input: unknown): VllmError => pydanticError('extra_forbidden', field, 'Extra inputs are not permitted', input);

export const modelNotFound = (model: string): VllmError => new VllmError(404, `The model \`${model}\` does not exist.`);

export const JSON_INVALID = new VllmError(400, "[{'type': 'json_invalid', 'loc': ('body', 0), 'msg': 'JSON decode error', 'input': {}}]");

/** FastAPI's answers for routes vLLM does not serve. */
export const NOT_FOUND_BODY = '{"detail":"Not Found"}';
export const METHOD_NOT_ALLOWED_BODY = '{"detail":"Method Not Allowed"}';
export const UNAUTHORIZED_BODY = '{"error":"Unauthorized"}';
