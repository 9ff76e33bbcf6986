/**
 * Google's proto JSON parsing, as far as a strict fake needs it: fields are known by their camelCase or snake_case
 * name, anything else is `Invalid JSON payload received. Unknown name "x" at 'path': Cannot find field.`, and a
 * value of the wrong type is `Invalid value at 'path' (TYPE_FLOAT), "hot"`. Paths use the snake_case names, as
 * Google's messages do.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { fieldError, GoogleError } from './errors.ts';

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** `parent.child` in Google's snake_case path style. */
export function at(parent: string, field: string): string {
  return parent === '' ? snake(field) : `${parent}.${snake(field)}`;
}

/** A message: rejects unknown fields (all of them at once, like Google) and returns it with camelCase names. */
export function message(value: unknown, path: string, known: ReadonlySet<string>, typeName: string): Json {
  if (!isObj(value)) throw invalidValue(path, typeName, value);
  const out: Json = {};
  const unknown: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = camel(key);
    if (!known.has(name)) unknown.push(key);
    else out[name] = v;
  }
  if (unknown.length > 0) {
    const where = path === '' ? '' : ` at '${path}'`;
    const lines = unknown.map((k) => `Invalid JSON payload received. Unknown name "${k}"${where}: Cannot find field.`);
    throw new GoogleError(400, lines.join('\n'), [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: unknown.map((k, i) => ({ field: path, description: lines[i] })) },
    ]);
  }
  return out;
}

export function invalidValue(path: string, typeName: string, value: unknown): GoogleError {
  return fieldError(path, `Invalid value at '${path}' (${typeName}), ${JSON.stringify(value) ?? 'undefined'}`);
}

export function repeated(value: unknown, path: string, typeName: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidValue(path, typeName, value);
  return value;
}

export function optString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidValue(path, 'TYPE_STRING', value);
  return value;
}

export function optNumber(value: unknown, path: string, typeName: 'TYPE_FLOAT' | 'TYPE_INT32' | 'TYPE_INT64' | 'TYPE_DOUBLE'): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || (typeName.startsWith('TYPE_INT') && !Number.isInteger(n))) throw invalidValue(path, typeName, value);
  return n;
}

export function optBool(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidValue(path, 'TYPE_BOOL', value);
  return value;
}

/** An enum given by name (Google's parser is lenient about case for these). */
export function optEnum(value: unknown, path: string, allowed: readonly string[], typeName: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const name = typeof value === 'string' ? value.toUpperCase() : '';
  if (!allowed.includes(name)) throw invalidValue(path, typeName, value);
  return name;
}

/** A `google.protobuf.Struct`: any JSON object. */
export function optStruct(value: unknown, path: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObj(value)) throw invalidValue(path, 'type.googleapis.com/google.protobuf.Struct', value);
  return value;
}
