/** Validation of a `POST /v1/messages` body, field by field like the real API, into a `MessagesCall`. */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { ApiError, extra, invalid, required, typeError } from './errors.ts';
import { at, checkKeys, optArray, optBool, optNumber, optString, reqObject, reqString } from './fields.ts';
import { validateMessages, validateMetadata, validateSystem } from './validate-messages.ts';
import type { Turn } from './validate-messages.ts';

const REQUEST_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature', 'top_p',
  'top_k', 'tools', 'tool_choice', 'thinking', 'service_tier',
]);
const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,128}$/;
/** The largest output any of the fake's models allows. */
export const MAX_OUTPUT_TOKENS = 64_000;

export type ToolChoice = { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string };

export interface MessagesCall {
  model: string;
  turns: Turn[];
  systemText: string;
  maxTokens: number;
  stream: boolean;
  stopSequences: string[];
  toolNames: string[];
  toolChoice: ToolChoice;
  /** Extended thinking is on (`thinking: {type: 'enabled', budget_tokens}`): answers open with a thinking block. */
  thinking: boolean;
}

function validateTools(b: Json): string[] {
  const tools = optArray(b, 'tools', '') ?? [];
  return tools.map((t, i) => {
    const loc = `tools.${i}`;
    if (!isObj(t)) throw typeError(loc, 'a valid dictionary', t);
    if (t.type !== undefined && t.type !== 'custom') throw invalid(at(loc, 'type'), "Input should be 'custom' (server tools are not supported by this fake)");
    checkKeys(t, new Set(['type', 'name', 'description', 'input_schema', 'cache_control']), loc);
    const name = reqString(t, 'name', loc);
    if (!TOOL_NAME_RE.test(name)) throw invalid(at(loc, 'name'), "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'");
    optString(t, 'description', loc);
    const schema = reqObject(t, 'input_schema', loc);
    if (schema.type !== 'object') throw invalid(at(at(loc, 'input_schema'), 'type'), "Input should be 'object'");
    return name;
  });
}

function validateToolChoice(b: Json, toolNames: readonly string[]): ToolChoice {
  const tc = b.tool_choice;
  if (tc === undefined) return { type: 'auto' };
  if (!isObj(tc)) throw typeError('tool_choice', 'a valid dictionary', tc);
  const type = tc.type;
  if (type === undefined) throw required('tool_choice.type');
  if (type !== 'auto' && type !== 'any' && type !== 'none' && type !== 'tool') {
    throw invalid('tool_choice.type', `Input tag '${String(type)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`);
  }
  checkKeys(tc, new Set(type === 'none' ? ['type'] : type === 'tool' ? ['type', 'name', 'disable_parallel_tool_use'] : ['type', 'disable_parallel_tool_use']), 'tool_choice');
  optBool(tc, 'disable_parallel_tool_use', 'tool_choice');
  if (type !== 'tool') return { type };
  const name = reqString(tc, 'name', 'tool_choice');
  if (!toolNames.includes(name)) throw invalid('tool_choice', `Tool '${name}' not found in tools`);
  return { type, name };
}

function validateStopSequences(b: Json): string[] {
  const stops = optArray(b, 'stop_sequences', '') ?? [];
  return stops.map((s, i) => {
    if (typeof s !== 'string') throw typeError(`stop_sequences.${i}`, 'a valid string', s);
    if (s.trim() === '') throw invalid('stop_sequences', 'each stop sequence must contain non-whitespace');
    return s;
  });
}

export function validateRequest(b: Json, models: ReadonlySet<string>): MessagesCall {
  for (const k in b) if (!REQUEST_FIELDS.has(k)) throw extra(k);
  const model = reqString(b, 'model', '');
  const turns = validateMessages(b.messages);
  if (b.max_tokens === undefined) throw required('max_tokens');
  const maxTokens = optNumber(b, 'max_tokens', 1, Number.MAX_SAFE_INTEGER, true) ?? 0;
  const systemText = validateSystem(b.system);
  validateMetadata(b.metadata);
  const stopSequences = validateStopSequences(b);
  const stream = optBool(b, 'stream', '') ?? false;
  optNumber(b, 'temperature', 0, 1);
  optNumber(b, 'top_p', 0, 1);
  optNumber(b, 'top_k', 0, Number.MAX_SAFE_INTEGER, true);
  const thinking = validateThinking(b, maxTokens);
  if (b.service_tier !== undefined && b.service_tier !== 'auto' && b.service_tier !== 'standard_only') {
    throw invalid('service_tier', "Input should be 'auto' or 'standard_only'");
  }
  const toolNames = validateTools(b);
  const toolChoice = validateToolChoice(b, toolNames);
  // The real API checks the model after the body's shape.
  if (!models.has(model)) throw new ApiError(404, `model: ${model}`, 'not_found_error');
  if (maxTokens > MAX_OUTPUT_TOKENS) {
    throw invalid('max_tokens', `${maxTokens} > ${MAX_OUTPUT_TOKENS}, which is the maximum allowed number of output tokens for ${model}`);
  }
  return { model, turns, systemText, maxTokens, stream, stopSequences, toolNames, toolChoice, thinking };
}

/** `thinking`: enabled with a budget of at least 1,024 tokens below max_tokens, or disabled, as the real API checks. */
function validateThinking(b: Json, maxTokens: number): boolean {
  if (b.thinking === undefined) return false;
  const thinking = reqObject(b, 'thinking', '');
  if (thinking.type === 'disabled') return false;
  if (thinking.type !== 'enabled') throw invalid('thinking.type', "Input should be 'enabled' or 'disabled'");
  const budget = optNumber(thinking, 'budget_tokens', 1024, Number.MAX_SAFE_INTEGER, true);
  if (budget === undefined) throw required('thinking.enabled.budget_tokens');
  if (budget >= maxTokens) throw invalid('max_tokens', '`max_tokens` must be greater than `thinking.budget_tokens`');
  return true;
}
