import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.ts';
import { errors } from '../errors/errors.ts';
import { renderOpenAIError } from '../errors/render.ts';

/** Small helpers for the admin HTTP server: JSON in, JSON out, errors in the OpenAI shape. */
export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendError(res: ServerResponse, error: GatewayError): void {
  const reply = renderOpenAIError(error);
  res.writeHead(reply.status, Object.fromEntries(reply.headers));
  res.end(reply.body);
}

const MAX_ADMIN_BODY = 64 * 1024;

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY) throw new GatewayError({ status: 413, type: 'invalid_request_error', code: 'request_too_large', message: 'Admin request body too large.' });
    chunks.push(chunk);
  }
  if (!size) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw errors.badRequest('The request body must be a JSON object.', null, 'invalid_json');
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !value) throw errors.badRequest(`'${field}' must be a non-empty string.`, field);
  return value;
}
