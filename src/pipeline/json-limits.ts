import { errors } from '../errors/errors.ts';
import type { GatewayError } from '../errors/gateway-error.ts';

/** Bounds on the shape of a parsed JSON body (config `requests.max_json_depth`, `requests.max_json_values`). */
export interface JsonLimits {
  /** Deepest nesting of arrays and objects; the body object itself is depth 1. */
  maxDepth: number;
  /** Values in the whole body: every object, array, string, number, boolean and null, the body included. */
  maxValues: number;
}

/** maxValues fits OpenAI's largest embeddings batch: 2,048 token arrays holding 300,000 tokens in all. */
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxValues: 400_000 };

/**
 * Checks a parsed body against the limits without recursion (an explicit stack), stopping at the first value over
 * a limit. JSON.parse itself is iterative in V8, but JSON.stringify, structuredClone, Ajv and many stages recurse:
 * a body nesting 50,000 arrays would blow their stack. Cost: one visit per value, a few hundred for a usual request.
 * Returns the error to answer with (400, naming the limit and the top-level field it was hit in), or null.
 */
export function checkJsonLimits(body: unknown, limits: JsonLimits): GatewayError | null {
  if (typeof body !== 'object' || body === null) return null;
  let values = 1;
  // Pending containers with their depth and the top-level field they belong to (for `param`).
  const stack: Array<{ value: object; depth: number; field: string | null }> = [{ value: body, depth: 1, field: null }];
  while (stack.length > 0) {
    const { value, depth, field } = stack.pop() as { value: object; depth: number; field: string | null };
    if (depth > limits.maxDepth) return tooDeep(limits.maxDepth, field);
    const isArray = Array.isArray(value);
    const children: unknown[] = isArray ? value : Object.values(value);
    values += children.length;
    if (values > limits.maxValues) return tooMany(limits.maxValues, field);
    const keys = depth === 1 && !isArray ? Object.keys(value) : null;
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (typeof child === 'object' && child !== null) {
        stack.push({ value: child, depth: depth + 1, field: keys ? (keys[i] as string) : field });
      }
    }
  }
  return null;
}

function tooDeep(max: number, field: string | null): GatewayError {
  const where = field ? ` in '${field}'` : '';
  return errors.badRequest(
    `The JSON body is nested too deeply${where}: at most ${max} levels of arrays and objects are allowed.`,
    field, 'json_too_deep',
  );
}

function tooMany(max: number, field: string | null): GatewayError {
  const where = field ? ` (the limit was reached in '${field}')` : '';
  return errors.badRequest(
    `The JSON body has too many values${where}: at most ${max} values (objects, arrays, strings, numbers, booleans, nulls) are allowed.`,
    field, 'json_too_many_values',
  );
}
