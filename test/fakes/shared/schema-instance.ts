/**
 * A deterministic value that satisfies a JSON schema, for fakes that must answer a structured-output request the way
 * the real model does (Anthropic tool input, Gemini responseSchema / responseJsonSchema). Covers the subset both
 * vendors accept: type (lower- or Gemini's upper-case, or a list with null), enum/const, properties + required,
 * items, minItems, anyOf, nullable, and local `$ref`s to `$defs`/`definitions`. Strings carry `text` so a test can
 * see the prompt arrived.
 */
import { isObj } from './json.ts';
import type { Json } from './json.ts';

const MAX_DEPTH = 16;

function resolve(schema: Json, root: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let node: unknown = root;
  for (const key of ref.slice(2).split('/')) node = isObj(node) ? node[key] : undefined;
  return isObj(node) ? node : {};
}

function typeOf(schema: Json): string {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => String(x).toLowerCase() !== 'null') : schema.type;
  if (typeof t === 'string') return t.toLowerCase();
  if (isObj(schema.properties)) return 'object';
  if (schema.items !== undefined) return 'array';
  return 'string';
}

function instance(raw: unknown, root: Json, text: string, depth: number): unknown {
  if (!isObj(raw) || depth > MAX_DEPTH) return null;
  const schema = resolve(raw, root);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const variants = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : null;
  if (variants && variants.length > 0) return instance(variants[0], root, text, depth + 1);
  switch (typeOf(schema)) {
    case 'object': {
      const out: Json = {};
      const properties = isObj(schema.properties) ? schema.properties : {};
      for (const [key, sub] of Object.entries(properties)) out[key] = instance(sub, root, text, depth + 1);
      return out;
    }
    case 'array': {
      const count = Math.max(1, typeof schema.minItems === 'number' ? schema.minItems : Number(schema.minItems ?? 1));
      return Array.from({ length: count }, () => instance(schema.items ?? {}, root, text, depth + 1));
    }
    case 'integer':
      return typeof schema.minimum === 'number' ? Math.ceil(schema.minimum) : 1;
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1.5;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return text;
  }
}

/** A value valid against `schema`, its strings set to `text`. */
export function schemaInstance(schema: unknown, text: string): unknown {
  return instance(schema, isObj(schema) ? schema : {}, text, 0);
}
