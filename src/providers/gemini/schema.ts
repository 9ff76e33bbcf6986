import { errors } from '../../errors/errors.ts';

/**
 * JSON Schema (what OpenAI clients send in tool `parameters` and `response_format.json_schema.schema`) → Gemini's
 * `Schema`, an OpenAPI 3.0 subset. Google's proto JSON parser rejects every field it does not know ("Unknown name
 * \"additionalProperties\""), so the translation keeps an allow-list and rewrites what Gemini says differently:
 *
 * - kept as is: the fields in `KEPT`; `format` only where Gemini accepts it for the type (`FORMATS_BY_TYPE`);
 * - `type: ["string", "null"]` → `type: "string", nullable: true`; several non-null types → `anyOf`;
 * - `oneOf` → `anyOf`; `allOf` → its members merged; `const` → a one-value `enum`;
 * - local `$ref`s (`#/$defs/…`, `#/definitions/…`, as Pydantic emits) are inlined; a recursive one is a 400, since
 *   Gemini's Schema cannot express recursion;
 * - `enum` only when all values are strings (Gemini's enum is a list of strings);
 * - `properties: {}` is dropped (Gemini: "should be non-empty for OBJECT type"), `required` keeps only declared names;
 * - everything else is dropped: `$schema`, `$id`, `additionalProperties`, `strict`, `examples`, `patternProperties`,
 *   `exclusiveMinimum`/`exclusiveMaximum`, `multipleOf`, `uniqueItems`, `not`, `if`/`then`/`else`… These only
 *   narrow what the model may produce; the tool or the client still validates the answer.
 */
type Json = Record<string, unknown>;

const KEPT: ReadonlySet<string> = new Set([
  'description', 'title', 'nullable', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern',
  'minProperties', 'maxProperties', 'minimum', 'maximum', 'default', 'example', 'propertyOrdering',
]);

/** The `format` values Gemini accepts, per type; others are dropped rather than failing the request. */
const FORMATS_BY_TYPE: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(['enum', 'date-time']),
  integer: new Set(['int32', 'int64']),
  number: new Set(['float', 'double']),
};

const MAX_REF_DEPTH = 32;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `param` names the request field the schema came from, for the error a client sees. */
export function toGeminiSchema(schema: unknown, param: string): Json {
  const root = isObj(schema) ? schema : {};
  return convert(root, { root, param, refs: [] });
}

interface Walk {
  root: Json;
  param: string;
  /** `$ref`s being inlined on the current path, to catch recursion. */
  refs: string[];
}

function convert(schema: Json, walk: Walk): Json {
  if (typeof schema.$ref === 'string') return inlineRef(schema, walk);
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) if (KEPT.has(key)) out[key] = value;

  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t): t is string => typeof t === 'string');
  const nonNull = types.filter((t) => t !== 'null');
  if (types.length > nonNull.length) out.nullable = true;
  if (nonNull.length === 1) out.type = nonNull[0];
  else if (nonNull.length > 1) out.anyOf = nonNull.map((t) => ({ type: t }));

  const type = typeof out.type === 'string' ? out.type.toLowerCase() : null;
  if (typeof schema.format === 'string' && type && FORMATS_BY_TYPE[type]?.has(schema.format)) out.format = schema.format;

  const values = schema.const !== undefined ? [schema.const] : schema.enum;
  if (Array.isArray(values) && values.length > 0 && values.every((v) => typeof v === 'string')) out.enum = values;

  if (isObj(schema.properties)) {
    const properties: Json = {};
    for (const [name, sub] of Object.entries(schema.properties)) properties[name] = convert(isObj(sub) ? sub : {}, walk);
    if (Object.keys(properties).length > 0) {
      out.properties = properties;
      if (Array.isArray(schema.required)) {
        const required = schema.required.filter((n): n is string => typeof n === 'string' && n in properties);
        if (required.length > 0) out.required = required;
      }
    }
  }
  if (isObj(schema.items)) out.items = convert(schema.items, walk);

  const alternatives = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : null;
  if (alternatives) out.anyOf = alternatives.filter(isObj).map((s) => convert(s, walk));

  if (Array.isArray(schema.allOf)) {
    for (const member of schema.allOf.filter(isObj)) mergeInto(out, convert(member, walk));
  }
  return out;
}

/** `allOf` members describe one value: their properties and required names add up, other keywords: last wins. */
function mergeInto(out: Json, member: Json): void {
  const properties = isObj(out.properties) && isObj(member.properties) ? { ...out.properties, ...member.properties } : null;
  const required = Array.isArray(out.required) && Array.isArray(member.required) ? [...new Set([...out.required, ...member.required])] : null;
  Object.assign(out, member);
  if (properties) out.properties = properties;
  if (required) out.required = required;
}

/** Replaces a local `$ref` by what it points to; sibling keywords (e.g. a `description`) win over the target's. */
function inlineRef(schema: Json, walk: Walk): Json {
  const ref = schema.$ref as string;
  const target = resolveLocalRef(walk.root, ref);
  if (!target) throw errors.badRequest(`${walk.param}: the schema reference "${ref}" cannot be resolved (only local #/$defs/… references are supported).`, walk.param);
  if (walk.refs.includes(ref) || walk.refs.length >= MAX_REF_DEPTH) {
    throw errors.badRequest(`${walk.param}: the schema is recursive ("${ref}"), which Gemini cannot express.`, walk.param);
  }
  const { $ref: _ref, ...siblings } = schema;
  const inlined = convert(target, { ...walk, refs: [...walk.refs, ref] });
  return { ...inlined, ...convert(siblings, walk) };
}

function resolveLocalRef(root: Json, ref: string): Json | null {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return null;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObj(node) ? node[key] : undefined;
  }
  return isObj(node) ? node : null;
}

/** Whether a converted schema declares any property (Gemini rejects an OBJECT `parameters` without one). */
export function hasProperties(schema: Json): boolean {
  return isObj(schema.properties) && Object.keys(schema.properties).length > 0;
}
