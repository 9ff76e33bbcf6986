/** Validation of a `POST /v1/messages` body, field by field like the real API, into a `MessagesCall`. */
import { isObj } from '../shared/json.ts';
import { countWords } from '../shared/text.ts';
import type { Json } from '../shared/json.ts';
import { ApiError, extra, invalid, required, typeError } from './errors.ts';
import { at, checkKeys, optArray, optBool, optNumber, optString, reqObject, reqString } from './fields.ts';
import { validateMessages, validateMetadata, validateSystem } from './validate-messages.ts';
import type { Turn } from './validate-messages.ts';
import { COUNT_OPTION_FIELDS, OPTION_FIELDS, validateOptions } from './validate-options.ts';

const REQUEST_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature', 'top_p',
  'top_k', 'tools', 'tool_choice', 'thinking', ...OPTION_FIELDS,
]);
/** What `POST /v1/messages/count_tokens` takes: the prompt only (no max_tokens, stream or sampling fields). */
const COUNT_FIELDS: ReadonlySet<string> = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', ...COUNT_OPTION_FIELDS]);
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
  /** Tool name → input_schema: a forced call answers with input valid against it. */
  toolSchemas: Record<string, Json>;
  toolChoice: ToolChoice;
  /** `thinking.budget_tokens` when extended thinking is enabled. */
  thinkingBudget: number | null;
  /** The prompt prefix up to the last cache_control mark (null: none), for the fake's prompt cache. */
  cachePrefix: CachePrefix | null;
  /** `output_config.format`'s schema: the text answer is JSON valid against it. */
  outputSchema: Json | null;
}

export interface CachePrefix {
  /** Identifies the prefix (its JSON). */
  key: string;
  /** Its tokens as the fake counts them (words of the system and message text it covers). */
  tokens: number;
}

/** Anthropic honours at most 4 cache_control marks per request. */
const MAX_CACHE_MARKS = 4;

function validateTools(b: Json): Array<{ name: string; schema: Json }> {
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
    return { name, schema };
  });
}

/** `thinking`: enabled with a budget of at least 1,024 tokens below max_tokens, or disabled. Returns the budget. */
function validateThinking(b: Json, maxTokens: number): number | null {
  if (b.thinking === undefined) return null;
  const t = reqObject(b, 'thinking', '');
  if (t.type === 'disabled') {
    checkKeys(t, new Set(['type']), 'thinking');
    return null;
  }
  // Adaptive: the model decides how much to think; the fake thinks with the smallest budget.
  if (t.type === 'adaptive') {
    checkKeys(t, new Set(['type', 'display']), 'thinking');
    return 1024;
  }
  if (t.type !== 'enabled') throw invalid('thinking.type', `Input tag '${String(t.type)}' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'`);
  checkKeys(t, new Set(['type', 'budget_tokens', 'display']), 'thinking');
  if (t.budget_tokens === undefined) throw required('thinking.enabled.budget_tokens');
  const budget = t.budget_tokens;
  if (typeof budget !== 'number' || !Number.isInteger(budget)) throw typeError('thinking.enabled.budget_tokens', 'a valid integer', budget);
  if (budget < 1024) throw invalid('thinking.enabled.budget_tokens', 'Input should be greater than or equal to 1024');
  if (maxTokens <= budget) throw new ApiError(400, '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size');
  if (b.temperature !== undefined && b.temperature !== 1) throw new ApiError(400, '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility');
  if (typeof b.top_p === 'number' && b.top_p < 0.95) throw new ApiError(400, '`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility');
  if (b.top_k !== undefined) throw new ApiError(400, '`top_k` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility');
  const tc = b.tool_choice;
  if (isObj(tc) && (tc.type === 'any' || tc.type === 'tool')) throw new ApiError(400, 'Thinking may not be enabled when tool_choice forces tool use.');
  checkThinkingBeforeToolUse(b.messages);
  return budget;
}

/** With thinking on, an assistant turn whose tool calls are being answered must start with its thinking block. */
function checkThinkingBeforeToolUse(messages: unknown): void {
  if (!Array.isArray(messages)) return;
  const i = messages.length - 2;
  const assistant = messages[i];
  if (!isObj(assistant) || assistant.role !== 'assistant' || !Array.isArray(assistant.content)) return;
  const first = assistant.content[0];
  const callsTools = assistant.content.some((block) => isObj(block) && block.type === 'tool_use');
  if (callsTools && !(isObj(first) && (first.type === 'thinking' || first.type === 'redacted_thinking'))) {
    throw new ApiError(400, `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${isObj(first) ? String(first.type) : 'text'}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`);
  }
}

/**
 * The cached prefix: everything in the order tools → system → messages up to the last block with cache_control.
 * More than 4 marks is a 400, as in the real API.
 */
function cachePrefix(b: Json): CachePrefix | null {
  const items: Array<{ value: unknown; tokens: number }> = [];
  for (const tool of Array.isArray(b.tools) ? b.tools : []) items.push({ value: tool, tokens: 0 });
  for (const block of Array.isArray(b.system) ? b.system : []) items.push({ value: block, tokens: isObj(block) ? countWords(String(block.text ?? '')) : 0 });
  for (const message of Array.isArray(b.messages) ? b.messages : []) {
    const content = isObj(message) ? message.content : undefined;
    if (typeof content === 'string') items.push({ value: content, tokens: countWords(content) + 3 });
    for (const block of Array.isArray(content) ? content : []) items.push({ value: block, tokens: isObj(block) && block.type === 'text' ? countWords(String(block.text ?? '')) : 0 });
  }
  const marked = items.flatMap((item, i) => (isObj(item.value) && item.value.cache_control !== undefined ? [i] : []));
  if (marked.length > MAX_CACHE_MARKS) throw new ApiError(400, `A maximum of ${MAX_CACHE_MARKS} blocks with cache_control may be provided. Found ${marked.length}.`);
  const last = marked.at(-1);
  if (last === undefined) return null;
  const prefix = items.slice(0, last + 1);
  return { key: JSON.stringify(prefix.map((item) => item.value)), tokens: prefix.reduce((n, item) => n + item.tokens, 0) };
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
  // 0 fills the prompt cache without generating (current API).
  const maxTokens = optNumber(b, 'max_tokens', 0, Number.MAX_SAFE_INTEGER, true) ?? 0;
  const systemText = validateSystem(b.system);
  validateMetadata(b.metadata);
  const stopSequences = validateStopSequences(b);
  const stream = optBool(b, 'stream', '') ?? false;
  optNumber(b, 'temperature', 0, 1);
  optNumber(b, 'top_p', 0, 1);
  optNumber(b, 'top_k', 0, Number.MAX_SAFE_INTEGER, true);
  const outputSchema = validateOptions(b);
  const tools = validateTools(b);
  const toolNames = tools.map((t) => t.name);
  const toolChoice = validateToolChoice(b, toolNames);
  const thinkingBudget = validateThinking(b, maxTokens);
  const prefix = cachePrefix(b);
  // The real API checks the model after the body's shape.
  if (!models.has(model)) throw new ApiError(404, `model: ${model}`, 'not_found_error');
  if (maxTokens > MAX_OUTPUT_TOKENS) {
    throw invalid('max_tokens', `${maxTokens} > ${MAX_OUTPUT_TOKENS}, which is the maximum allowed number of output tokens for ${model}`);
  }
  const toolSchemas = Object.fromEntries(tools.map((t) => [t.name, t.schema]));
  return { model, turns, systemText, maxTokens, stream, stopSequences, toolNames, toolSchemas, toolChoice, thinkingBudget, cachePrefix: prefix, outputSchema };
}

/**
 * Validation of a `POST /v1/messages/count_tokens` body: the same prompt checks as a message, but only the prompt's
 * fields (an unknown field, `max_tokens` included, is a 400 as in the real API). The call has no output to bound.
 */
export function validateCountRequest(b: Json, models: ReadonlySet<string>): MessagesCall {
  for (const k in b) if (!COUNT_FIELDS.has(k)) throw extra(k);
  const model = reqString(b, 'model', '');
  const turns = validateMessages(b.messages);
  const systemText = validateSystem(b.system);
  const tools = validateTools(b);
  const toolNames = tools.map((t) => t.name);
  const toolChoice = validateToolChoice(b, toolNames);
  const outputSchema = validateOptions(b);
  // No max_tokens here: the budget only has to be a valid one.
  const thinkingBudget = validateThinking(b, Number.MAX_SAFE_INTEGER);
  const prefix = cachePrefix(b);
  if (!models.has(model)) throw new ApiError(404, `model: ${model}`, 'not_found_error');
  const toolSchemas = Object.fromEntries(tools.map((t) => [t.name, t.schema]));
  return { model, turns, systemText, maxTokens: 0, stream: false, stopSequences: [], toolNames, toolSchemas, toolChoice, thinkingBudget, cachePrefix: prefix, outputSchema };
}
