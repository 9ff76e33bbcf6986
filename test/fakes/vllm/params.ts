/**
 * vLLM's sampling and serving parameters beyond OpenAI's, as data: each one's type and range with vLLM's own
 * messages. The fake accepts these and OpenAI's fields, and refuses anything else.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { pydanticError, VllmError } from './errors.ts';

type Kind = 'int' | 'number' | 'bool' | 'string' | 'list' | 'dict' | 'dict-or-string';

interface ParamRule {
  kind: Kind;
  /** A range check on a well-typed value: the message when it is out of range, else null. */
  range?: (v: number) => string | null;
}

const TYPE_ERRORS: Record<Kind, [type: string, msg: string]> = {
  int: ['int_type', 'Input should be a valid integer'],
  number: ['float_type', 'Input should be a valid number'],
  bool: ['bool_type', 'Input should be a valid boolean'],
  string: ['string_type', 'Input should be a valid string'],
  list: ['list_type', 'Input should be a valid list'],
  dict: ['dict_type', 'Input should be a valid dictionary'],
  'dict-or-string': ['dict_type', 'Input should be a valid dictionary'],
};

const KIND_CHECKS: Record<Kind, (v: unknown) => boolean> = {
  int: (v) => typeof v === 'number' && Number.isInteger(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  bool: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  list: (v) => Array.isArray(v),
  dict: (v) => isObj(v),
  'dict-or-string': (v) => isObj(v) || typeof v === 'string',
};

export const VLLM_CHAT_PARAMS: Readonly<Record<string, ParamRule>> = {
  top_k: { kind: 'int', range: (v) => (v < -1 ? `top_k must be 0 (disable), or at least 1, got ${v}.` : null) },
  min_p: { kind: 'number', range: (v) => (v < 0 || v > 1 ? `min_p must be in [0, 1], got ${v}.` : null) },
  repetition_penalty: { kind: 'number', range: (v) => (v <= 0 ? `repetition_penalty must be greater than zero, got ${v}.` : null) },
  length_penalty: { kind: 'number' },
  min_tokens: { kind: 'int', range: (v) => (v < 0 ? `min_tokens must be greater than or equal to 0, got ${v}.` : null) },
  stop_token_ids: { kind: 'list' },
  ignore_eos: { kind: 'bool' },
  skip_special_tokens: { kind: 'bool' },
  spaces_between_special_tokens: { kind: 'bool' },
  include_stop_str_in_output: { kind: 'bool' },
  use_beam_search: { kind: 'bool' },
  echo: { kind: 'bool' },
  add_generation_prompt: { kind: 'bool' },
  chat_template_kwargs: { kind: 'dict' },
  guided_json: { kind: 'dict-or-string' },
  guided_regex: { kind: 'string' },
  guided_choice: { kind: 'list' },
  priority: { kind: 'int' },
};

export const VLLM_EMBEDDING_PARAMS: Readonly<Record<string, ParamRule>> = {
  truncate_prompt_tokens: { kind: 'int', range: (v) => (v < -1 ? `truncate_prompt_tokens must be -1 or at least 1, got ${v}.` : null) },
  add_special_tokens: { kind: 'bool' },
  priority: { kind: 'int' },
};

/**
 * Checks the vLLM-only fields of `body` (null counts as absent, as in pydantic's Optional fields) and returns the
 * body without them, for the OpenAI validators.
 */
export function takeVllmParams(body: Json, rules: Readonly<Record<string, ParamRule>>): Json {
  const rest: Json = {};
  for (const [name, value] of Object.entries(body)) {
    const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
    if (!rule) {
      rest[name] = value;
      continue;
    }
    if (value === null) continue;
    if (!KIND_CHECKS[rule.kind](value)) {
      const [type, msg] = TYPE_ERRORS[rule.kind];
      throw pydanticError(type, name, msg, value);
    }
    const outOfRange = typeof value === 'number' ? rule.range?.(value) : null;
    if (outOfRange) throw new VllmError(400, outOfRange);
  }
  return rest;
}
