/** Validation of chat `tools` and `tool_choice`. */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { ApiError, emptyArray, invalidValue, missing, typeError } from './errors.ts';
import { optArray } from './fields.ts';

export type ToolChoice = 'none' | 'auto' | 'required' | { name: string } | undefined;

const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

/** The names of the declared tools, or undefined when the request has no `tools`. */
export function validateTools(b: Json): string[] | undefined {
  const tools = optArray(b, 'tools');
  if (tools === undefined) return undefined;
  if (tools.length === 0) throw emptyArray('tools');
  const toolNames: string[] = [];
  for (let i = 0; i < tools.length; i++) {
    const t: unknown = tools[i];
    const tp = `tools[${i}]`;
    if (!isObj(t)) throw typeError(tp, 'an object', t);
    if (t.type === undefined) throw missing(`${tp}.type`);
    if (t.type === 'custom') {
      const c = t.custom;
      if (!isObj(c) || typeof c.name !== 'string') throw missing(`${tp}.custom.name`);
      toolNames.push(c.name);
      continue;
    }
    if (t.type !== 'function') throw invalidValue(`${tp}.type`, t.type, ['function', 'custom']);
    const fn = t.function;
    if (fn === undefined || fn === null) throw missing(`${tp}.function`);
    if (!isObj(fn)) throw typeError(`${tp}.function`, 'an object', fn);
    if (fn.name === undefined || fn.name === null) throw missing(`${tp}.function.name`);
    if (typeof fn.name !== 'string') throw typeError(`${tp}.function.name`, 'a string', fn.name);
    if (!TOOL_NAME_RE.test(fn.name)) {
      throw new ApiError(400, `Invalid '${tp}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, `${tp}.function.name`, 'invalid_value');
    }
    if (fn.parameters !== undefined && fn.parameters !== null && !isObj(fn.parameters)) throw typeError(`${tp}.function.parameters`, 'an object', fn.parameters);
    if (fn.description !== undefined && fn.description !== null && typeof fn.description !== 'string') throw typeError(`${tp}.function.description`, 'a string', fn.description);
    if (fn.strict !== undefined && fn.strict !== null && typeof fn.strict !== 'boolean') throw typeError(`${tp}.function.strict`, 'a boolean', fn.strict);
    toolNames.push(fn.name);
  }
  return toolNames;
}

/** `tool_choice`, checked against the declared tools (`toolNames`, undefined when there are none). */
export function validateToolChoice(b: Json, toolNames: readonly string[] | undefined): ToolChoice {
  const tc = b.tool_choice;
  if (tc === undefined || tc === null) return undefined;
  let toolChoice: ToolChoice;
  if (typeof tc === 'string') {
    if (tc !== 'none' && tc !== 'auto' && tc !== 'required') throw invalidValue('tool_choice', tc, ['none', 'auto', 'required']);
    toolChoice = tc;
  } else if (isObj(tc)) {
    if (tc.type !== 'function') throw invalidValue('tool_choice.type', tc.type, ['function']);
    const fn = tc.function;
    if (!isObj(fn)) throw fn === undefined ? missing('tool_choice.function') : typeError('tool_choice.function', 'an object', fn);
    if (typeof fn.name !== 'string') throw fn.name === undefined ? missing('tool_choice.function.name') : typeError('tool_choice.function.name', 'a string', fn.name);
    toolChoice = { name: fn.name };
  } else {
    throw typeError('tool_choice', 'one of a string or object', tc);
  }
  if (toolNames === undefined && toolChoice !== 'none') {
    throw new ApiError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
  }
  if (typeof toolChoice === 'object' && !toolNames?.includes(toolChoice.name)) {
    throw new ApiError(400, `Invalid value for 'tool_choice': tool '${toolChoice.name}' not found in 'tools'.`, 'tool_choice', 'invalid_value');
  }
  return toolChoice;
}
