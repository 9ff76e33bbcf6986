/** Field checks for Anthropic request bodies: required/optional typed fields, bounds and allowed keys. */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { extra, invalid, required, typeError } from './errors.ts';

export const at = (loc: string, key: string | number): string => (loc === '' ? String(key) : `${loc}.${key}`);

export function checkKeys(o: Json, allowed: ReadonlySet<string>, loc: string): void {
  for (const k in o) if (!allowed.has(k)) throw extra(at(loc, k));
}

export function reqString(o: Json, k: string, loc: string): string {
  const v = o[k];
  if (v === undefined) throw required(at(loc, k));
  if (typeof v !== 'string') throw typeError(at(loc, k), 'a valid string', v);
  return v;
}
export function optString(o: Json, k: string, loc: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw typeError(at(loc, k), 'a valid string', v);
  return v;
}
export function optBool(o: Json, k: string, loc: string): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw typeError(at(loc, k), 'a valid boolean', v);
  return v;
}
export function reqObject(o: Json, k: string, loc: string): Json {
  const v = o[k];
  if (v === undefined) throw required(at(loc, k));
  if (!isObj(v)) throw typeError(at(loc, k), 'a valid dictionary', v);
  return v;
}
export function optObject(o: Json, k: string, loc: string): Json | undefined {
  return o[k] === undefined ? undefined : reqObject(o, k, loc);
}
export function optArray(o: Json, k: string, loc: string): unknown[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw typeError(at(loc, k), 'a valid list', v);
  return v;
}
export function optNumber(o: Json, k: string, min: number, max: number, integer = false): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw typeError(k, integer ? 'a valid integer' : 'a valid number', v);
  if (v < min) throw invalid(k, `Input should be greater than or equal to ${min}`);
  if (v > max) throw invalid(k, `Input should be less than or equal to ${max}`);
  return v;
}
