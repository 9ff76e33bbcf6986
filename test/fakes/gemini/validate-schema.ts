/**
 * Validation of Gemini `Schema` objects (function parameters, `responseSchema`) and of `tools`/`toolConfig`, with
 * the real API's messages. Gemini's Schema is an OpenAPI subset: JSON Schema keywords it lacks, such as
 * `additionalProperties` or `$schema`, are unknown fields and fail the request.
 */
import { isObj } from '../shared/json.ts';
import { requestError } from './errors.ts';
import { at, invalidValue, message, optBool, optEnum, optNumber, optString, repeated } from './proto-json.ts';

const SCHEMA_FIELDS: ReadonlySet<string> = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
]);
const TYPES = ['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL'] as const;
const TYPE_ENUM = 'type.googleapis.com/google.ai.generativelanguage.v1beta.Type';

const TOOL_FIELDS: ReadonlySet<string> = new Set(['functionDeclarations', 'googleSearchRetrieval', 'codeExecution', 'googleSearch', 'urlContext']);
const DECLARATION_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior']);
const TOOL_CONFIG_FIELDS: ReadonlySet<string> = new Set(['functionCallingConfig']);
const CALLING_CONFIG_FIELDS: ReadonlySet<string> = new Set(['mode', 'allowedFunctionNames']);
const MODES = ['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED'] as const;
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

const REQUEST = 'GenerateContentRequest';

export function validateSchema(value: unknown, path: string): void {
  const s = message(value, path, SCHEMA_FIELDS, 'type.googleapis.com/google.ai.generativelanguage.v1beta.Schema');
  const type = optEnum(s.type, at(path, 'type'), TYPES, TYPE_ENUM);
  optString(s.format, at(path, 'format'));
  optString(s.description, at(path, 'description'));
  optBool(s.nullable, at(path, 'nullable'));
  for (const [i, e] of repeated(s.enum, at(path, 'enum'), 'TYPE_STRING').entries()) optString(e, `${at(path, 'enum')}[${i}]`);
  for (const field of ['maxItems', 'minItems', 'minProperties', 'maxProperties', 'minLength', 'maxLength'] as const) optNumber(s[field], at(path, field), 'TYPE_INT64');
  for (const field of ['minimum', 'maximum'] as const) optNumber(s[field], at(path, field), 'TYPE_DOUBLE');
  if (s.items !== undefined) validateSchema(s.items, at(path, 'items'));
  for (const [i, alt] of repeated(s.anyOf, at(path, 'anyOf'), 'Schema').entries()) validateSchema(alt, `${at(path, 'anyOf')}[${i}]`);

  const propsPath = at(path, 'properties');
  if (s.properties !== undefined && !isObj(s.properties)) throw invalidValue(propsPath, 'Schema map', s.properties);
  const properties = s.properties as Record<string, unknown> | undefined;
  for (const [name, sub] of Object.entries(properties ?? {})) validateSchema(sub, `${propsPath}[${JSON.stringify(name)}]`);
  if (type === 'OBJECT' && properties !== undefined && Object.keys(properties).length === 0) {
    throw requestError(REQUEST, propsPath, 'should be non-empty for OBJECT type');
  }
  for (const [i, name] of repeated(s.required, at(path, 'required'), 'TYPE_STRING').entries()) {
    if (typeof name !== 'string' || !isObj(s.properties) || !(name in s.properties)) {
      throw requestError(REQUEST, `${at(path, 'required')}[${i}]`, 'property is not defined');
    }
  }
}

/** `tools` → the declared function names. */
export function validateTools(value: unknown): string[] {
  const names: string[] = [];
  for (const [i, raw] of repeated(value, 'tools', 'Tool').entries()) {
    const path = `tools[${i}]`;
    const tool = message(raw, path, TOOL_FIELDS, 'type.googleapis.com/google.ai.generativelanguage.v1beta.Tool');
    for (const [j, rawDecl] of repeated(tool.functionDeclarations, at(path, 'functionDeclarations'), 'FunctionDeclaration').entries()) {
      const declPath = `${at(path, 'functionDeclarations')}[${j}]`;
      const decl = message(rawDecl, declPath, DECLARATION_FIELDS, 'type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionDeclaration');
      const name = optString(decl.name, at(declPath, 'name'));
      if (!name || !FUNCTION_NAME.test(name)) {
        throw requestError(REQUEST, at(declPath, 'name'), 'Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or dashes (-), with a maximum length of 64.');
      }
      if (names.includes(name)) throw requestError(REQUEST, at(declPath, 'name'), `Duplicate function declaration name: ${name}`);
      optString(decl.description, at(declPath, 'description'));
      if (decl.parameters !== undefined) validateSchema(decl.parameters, at(declPath, 'parameters'));
      names.push(name);
    }
  }
  return names;
}

export interface ToolChoice {
  mode: string;
  allowed: string[];
}

export function validateToolConfig(value: unknown, declared: readonly string[]): ToolChoice {
  if (value === undefined || value === null) return { mode: 'AUTO', allowed: [] };
  const config = message(value, 'tool_config', TOOL_CONFIG_FIELDS, 'type.googleapis.com/google.ai.generativelanguage.v1beta.ToolConfig');
  if (config.functionCallingConfig === undefined) return { mode: 'AUTO', allowed: [] };
  const path = 'tool_config.function_calling_config';
  const fcc = message(config.functionCallingConfig, path, CALLING_CONFIG_FIELDS, 'type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig');
  const mode = optEnum(fcc.mode, `${path}.mode`, MODES, 'type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode') ?? 'AUTO';
  const allowed = repeated(fcc.allowedFunctionNames, `${path}.allowed_function_names`, 'TYPE_STRING').map((n, i) => optString(n, `${path}.allowed_function_names[${i}]`) ?? '');
  if (allowed.length > 0 && mode !== 'ANY' && mode !== 'VALIDATED') {
    throw requestError(REQUEST, `${path}.allowed_function_names`, 'allowed_function_names should only be set when the Mode is ANY or VALIDATED.');
  }
  for (const [i, name] of allowed.entries()) {
    if (!declared.includes(name)) throw requestError(REQUEST, `${path}.allowed_function_names[${i}]`, `function "${name}" is not declared in tools.`);
  }
  if (mode === 'ANY' && declared.length === 0) {
    throw requestError(REQUEST, `${path}.mode`, 'specified function calling mode is ANY, but function declarations are not provided.');
  }
  return { mode, allowed };
}
