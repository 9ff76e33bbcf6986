/** Field checks for OpenAI request bodies: optional typed fields with ranges, allowed keys, and the `model` field. */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { ApiError, typeError } from './errors.ts';

export function optBool(b: Json, k: string): boolean | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw typeError(k, 'a boolean', v);
  return v;
}
export function optString(b: Json, k: string, param = k): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(param, 'a string', v);
  return v;
}
export function optObject(b: Json, k: string, param = k): Json | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw typeError(param, 'an object', v);
  return v;
}
/** A bounded number, with the real API's messages: kind 'decimal' accepts any finite number, 'integer' only integers. */
function optBounded(b: Json, k: string, min: number, max: number, param: string, kind: 'decimal' | 'integer'): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  const ok = typeof v === 'number' && (kind === 'integer' ? Number.isInteger(v) : Number.isFinite(v));
  if (!ok) throw typeError(param, kind === 'integer' ? 'an integer' : 'a decimal', v);
  if (v < min) throw new ApiError(400, `Invalid '${param}': ${kind} below minimum value. Expected a value >= ${min}, but got ${v} instead.`, param, `${kind}_below_min_value`);
  if (v > max) throw new ApiError(400, `Invalid '${param}': ${kind} above maximum value. Expected a value <= ${max}, but got ${v} instead.`, param, `${kind}_above_max_value`);
  return v;
}
export function optNumber(b: Json, k: string, min: number, max: number): number | undefined {
  return optBounded(b, k, min, max, k, 'decimal');
}
export function optInt(b: Json, k: string, min: number, max: number, param = k): number | undefined {
  return optBounded(b, k, min, max, param, 'integer');
}
export function optArray(b: Json, k: string, param = k): unknown[] | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(param, 'an array', v);
  return v;
}
export function checkKeys(o: Json, allowed: ReadonlySet<string>, where: string): void {
  for (const k in o) {
    if (!allowed.has(k)) throw new ApiError(400, `Additional properties are not allowed ('${k}' was unexpected) - '${where}'`, where);
  }
}

/** The `model` field: present, a string, and one of `models` (else 404 like the real API). */
export function requireModel(b: Json, models: ReadonlySet<string>): string {
  const model = b.model;
  if (model === undefined || model === null) throw new ApiError(400, 'you must provide a model parameter');
  if (typeof model !== 'string') throw typeError('model', 'a string', model);
  if (!models.has(model)) throw new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found');
  return model;
}
