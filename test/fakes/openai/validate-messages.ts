/** Validation of chat `messages`: roles, allowed keys, content parts, and tool calls answered by `tool` messages in order. */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { ApiError, emptyArray, invalidValue, missing, typeError } from './errors.ts';
import { checkKeys } from './fields.ts';

const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'] as const;
const ROLE_SET: ReadonlySet<string> = new Set(ROLES);
const MESSAGE_KEYS: Record<string, ReadonlySet<string>> = {
  system: new Set(['role', 'content', 'name']),
  developer: new Set(['role', 'content', 'name']),
  user: new Set(['role', 'content', 'name']),
  assistant: new Set(['role', 'content', 'name', 'tool_calls', 'function_call', 'refusal', 'audio', 'annotations']),
  tool: new Set(['role', 'content', 'tool_call_id']),
  function: new Set(['role', 'content', 'name']),
};
const USER_PART_TYPES = ['text', 'image_url', 'input_audio', 'file'] as const;
const USER_PART_SET: ReadonlySet<string> = new Set(USER_PART_TYPES);

function validateContent(c: unknown, param: string, role: string): void {
  if (typeof c === 'string') return;
  if (!Array.isArray(c)) throw typeError(param, 'one of a string or array of objects', c);
  if (c.length === 0) throw emptyArray(param);
  const allowed: readonly string[] =
    role === 'user' ? USER_PART_TYPES : role === 'assistant' ? ['text', 'refusal'] : ['text'];
  for (let i = 0; i < c.length; i++) {
    const p: unknown = c[i];
    const pp = `${param}[${i}]`;
    if (!isObj(p)) throw typeError(pp, 'an object', p);
    const t = p.type;
    if (t === undefined) throw missing(`${pp}.type`);
    if (typeof t !== 'string' || !(role === 'user' ? USER_PART_SET.has(t) : allowed.includes(t))) throw invalidValue(`${pp}.type`, t, allowed);
    if (t === 'text') {
      if (p.text === undefined) throw missing(`${pp}.text`);
      if (typeof p.text !== 'string') throw typeError(`${pp}.text`, 'a string', p.text);
    } else if (t === 'refusal') {
      if (typeof p.refusal !== 'string') throw typeError(`${pp}.refusal`, 'a string', p.refusal);
    } else if (t === 'image_url') {
      if (!isObj(p.image_url)) throw typeError(`${pp}.image_url`, 'an object', p.image_url);
      if (typeof p.image_url.url !== 'string') throw typeError(`${pp}.image_url.url`, 'a string', p.image_url.url);
    }
  }
}

function unansweredToolCalls(pending: ReadonlySet<string>, pendingIndex: number): ApiError {
  return new ApiError(
    400,
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
    `messages.[${pendingIndex}].role`,
  );
}

/** Checks an assistant message's `tool_calls` (at `p`) and returns their ids. */
function toolCallIds(tc: unknown, p: string): Set<string> {
  if (!Array.isArray(tc)) throw typeError(`${p}.tool_calls`, 'an array', tc);
  if (tc.length === 0) throw emptyArray(`${p}.tool_calls`);
  const ids = new Set<string>();
  for (let j = 0; j < tc.length; j++) {
    const call: unknown = tc[j];
    const cp = `${p}.tool_calls[${j}]`;
    if (!isObj(call)) throw typeError(cp, 'an object', call);
    if (typeof call.id !== 'string') throw call.id === undefined ? missing(`${cp}.id`) : typeError(`${cp}.id`, 'a string', call.id);
    if (call.type !== 'function') throw invalidValue(`${cp}.type`, call.type, ['function']);
    const fn = call.function;
    if (!isObj(fn)) throw fn === undefined ? missing(`${cp}.function`) : typeError(`${cp}.function`, 'an object', fn);
    if (typeof fn.name !== 'string') throw fn.name === undefined ? missing(`${cp}.function.name`) : typeError(`${cp}.function.name`, 'a string', fn.name);
    if (typeof fn.arguments !== 'string') throw fn.arguments === undefined ? missing(`${cp}.function.arguments`) : typeError(`${cp}.function.arguments`, 'a string', fn.arguments);
    ids.add(call.id);
  }
  return ids;
}

export function validateMessages(raw: unknown): Json[] {
  if (raw === undefined || raw === null) throw missing('messages');
  if (!Array.isArray(raw)) throw typeError('messages', 'an array of objects', raw);
  if (raw.length === 0) throw emptyArray('messages');
  const msgs: Json[] = [];
  // tool_call ids of the latest assistant message that still await a `tool` answer
  let pending: Set<string> | null = null;
  let pendingIndex = -1;
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i];
    const p = `messages[${i}]`;
    if (!isObj(m)) throw typeError(p, 'an object', m);
    const role = m.role;
    if (role === undefined || role === null) throw missing(`${p}.role`);
    if (typeof role !== 'string' || !ROLE_SET.has(role)) throw invalidValue(`${p}.role`, role, ROLES);
    const keys = MESSAGE_KEYS[role];
    if (keys) checkKeys(m, keys, `messages.${i}`);
    if (m.name !== undefined && m.name !== null && typeof m.name !== 'string') throw typeError(`${p}.name`, 'a string', m.name);

    if (role !== 'tool' && pending !== null && pending.size > 0) throw unansweredToolCalls(pending, pendingIndex);
    if (role !== 'tool') pending = null;

    switch (role) {
      case 'system':
      case 'developer':
      case 'user':
        if (m.content === undefined || m.content === null) throw missing(`${p}.content`);
        validateContent(m.content, `${p}.content`, role);
        break;
      case 'assistant': {
        const tc = m.tool_calls;
        const hasTools = tc !== undefined && tc !== null;
        if (hasTools) {
          pending = toolCallIds(tc, p);
          pendingIndex = i;
        }
        const hasFn = m.function_call !== undefined && m.function_call !== null;
        if (m.content === undefined || m.content === null) {
          if (!hasTools && !hasFn) throw missing(`${p}.content`);
        } else {
          validateContent(m.content, `${p}.content`, role);
        }
        break;
      }
      case 'tool': {
        if (m.tool_call_id === undefined || m.tool_call_id === null) throw missing(`${p}.tool_call_id`);
        if (typeof m.tool_call_id !== 'string') throw typeError(`${p}.tool_call_id`, 'a string', m.tool_call_id);
        if (m.content === undefined || m.content === null) throw missing(`${p}.content`);
        validateContent(m.content, `${p}.content`, role);
        if (pending === null) {
          throw new ApiError(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages.[${i}].role`);
        }
        pending.delete(m.tool_call_id);
        break;
      }
      case 'function':
        if (typeof m.name !== 'string') throw missing(`${p}.name`);
        if (m.content !== null && typeof m.content !== 'string') throw typeError(`${p}.content`, 'a string', m.content);
        break;
    }
    msgs.push(m);
  }
  if (pending !== null && pending.size > 0) throw unansweredToolCalls(pending, pendingIndex);
  return msgs;
}
