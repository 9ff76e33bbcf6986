/** Validation of a `POST /v1/chat/completions` body, field by field in the real API's order, into a `ChatRequest`. */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { contentText } from '../shared/text.ts';
import { ApiError, invalidValue, missing, typeError, unrecognized } from './errors.ts';
import { optArray, optBool, optInt, optNumber, optObject, optString, requireModel } from './fields.ts';
import { validateMessages } from './validate-messages.ts';
import { validateToolChoice, validateTools } from './validate-tools.ts';
import type { ToolChoice } from './validate-tools.ts';

export const CHAT_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'stream', 'stream_options', 'temperature', 'top_p', 'n', 'stop', 'max_tokens',
  'max_completion_tokens', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs',
  'user', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'seed', 'service_tier', 'store',
  'metadata', 'modalities', 'reasoning_effort', 'prediction', 'audio', 'web_search_options', 'functions',
  'function_call',
]);
const STREAM_OPTION_KEYS: ReadonlySet<string> = new Set(['include_usage', 'include_obfuscation']);
const SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority'] as const;
const SERVICE_TIER_SET: ReadonlySet<string> = new Set(SERVICE_TIERS);

export interface ChatRequest {
  model: string;
  messages: Json[];
  stream: boolean;
  includeUsage: boolean;
  n: number;
  maxTokens: number | undefined;
  toolNames: string[];
  toolChoice: ToolChoice;
  json: boolean;
}

/** `stream_options` (only with `stream`); returns whether usage goes in a last chunk. */
function includeUsage(b: Json, stream: boolean): boolean {
  const so = optObject(b, 'stream_options');
  if (so === undefined) return false;
  if (!stream) {
    throw new ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  }
  for (const k in so) if (!STREAM_OPTION_KEYS.has(k)) throw unrecognized(`stream_options.${k}`);
  const iu = so.include_usage;
  if (iu !== undefined && iu !== null && typeof iu !== 'boolean') throw typeError('stream_options.include_usage', 'a boolean', iu);
  const io = so.include_obfuscation;
  if (io !== undefined && io !== null && typeof io !== 'boolean') throw typeError('stream_options.include_obfuscation', 'a boolean', io);
  return iu === true;
}

/** `stop`, `logit_bias`, `metadata` and `modalities`: checked, not used. */
function checkExtras(b: Json): void {
  const stop = b.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string') {
    if (!Array.isArray(stop)) throw typeError('stop', 'one of a string or array of strings', stop);
    if (stop.length > 4) throw new ApiError(400, `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${stop.length} instead.`, 'stop', 'array_above_max_length');
    for (let i = 0; i < stop.length; i++) if (typeof stop[i] !== 'string') throw typeError(`stop[${i}]`, 'a string', stop[i]);
  }

  const lb = optObject(b, 'logit_bias');
  if (lb !== undefined) {
    for (const k in lb) {
      const v = lb[k];
      if (typeof v !== 'number') throw typeError(`logit_bias.${k}`, 'a decimal', v);
      if (v < -100 || v > 100) throw new ApiError(400, `Invalid 'logit_bias': value for token ${k} must be between -100 and 100, but got ${v}.`, 'logit_bias', 'invalid_value');
    }
  }

  const md = optObject(b, 'metadata');
  if (md !== undefined) {
    const keys = Object.keys(md);
    if (keys.length > 16) throw new ApiError(400, `Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with ${keys.length} properties instead.`, 'metadata', 'object_above_max_properties');
    for (const k of keys) if (typeof md[k] !== 'string') throw typeError(`metadata.${k}`, 'a string', md[k]);
  }

  const modalities = optArray(b, 'modalities');
  if (modalities !== undefined) {
    for (let i = 0; i < modalities.length; i++) {
      const v = modalities[i];
      if (v !== 'text' && v !== 'audio') throw invalidValue(`modalities[${i}]`, v, ['text', 'audio']);
    }
  }
}

/** `response_format`; returns whether the answer must be JSON. */
function wantsJson(b: Json, messages: readonly Json[]): boolean {
  const rf = optObject(b, 'response_format');
  if (rf === undefined) return false;
  const t = rf.type;
  if (t === undefined || t === null) throw missing('response_format.type');
  if (t === 'json_object') {
    let mentionsJson = false;
    for (const m of messages) if (/json/i.test(contentText(m.content))) { mentionsJson = true; break; }
    if (!mentionsJson) {
      throw new ApiError(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages');
    }
    return true;
  }
  if (t === 'json_schema') {
    const js = rf.json_schema;
    if (js === undefined || js === null) throw missing('response_format.json_schema');
    if (!isObj(js)) throw typeError('response_format.json_schema', 'an object', js);
    if (js.name === undefined || js.name === null) throw missing('response_format.json_schema.name');
    if (typeof js.name !== 'string') throw typeError('response_format.json_schema.name', 'a string', js.name);
    if (js.schema !== undefined && js.schema !== null && !isObj(js.schema)) throw typeError('response_format.json_schema.schema', 'an object', js.schema);
    return true;
  }
  if (t !== 'text') throw invalidValue('response_format.type', t, ['text', 'json_object', 'json_schema']);
  return false;
}

export function validateChat(b: Json, chatModels: ReadonlySet<string>): ChatRequest {
  for (const k in b) if (!CHAT_FIELDS.has(k)) throw unrecognized(k);

  const model = requireModel(b, chatModels);
  const messages = validateMessages(b.messages);

  const stream = optBool(b, 'stream') ?? false;
  const usage = includeUsage(b, stream);

  optNumber(b, 'temperature', 0, 2);
  optNumber(b, 'top_p', 0, 1);
  optNumber(b, 'presence_penalty', -2, 2);
  optNumber(b, 'frequency_penalty', -2, 2);
  const n = optInt(b, 'n', 1, 128) ?? 1;
  const maxTokens = optInt(b, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  const maxCompletion = optInt(b, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER);
  optInt(b, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const logprobs = optBool(b, 'logprobs');
  const topLogprobs = optInt(b, 'top_logprobs', 0, 20);
  if (topLogprobs !== undefined && logprobs !== true) {
    throw new ApiError(400, "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is specified.", 'top_logprobs', 'invalid_value');
  }
  optString(b, 'user');
  optBool(b, 'store');
  optBool(b, 'parallel_tool_calls');
  optString(b, 'reasoning_effort');
  optObject(b, 'prediction');
  optObject(b, 'audio');
  optObject(b, 'web_search_options');
  optArray(b, 'functions');
  const fc = b.function_call;
  if (fc !== undefined && fc !== null && typeof fc !== 'string' && !isObj(fc)) throw typeError('function_call', 'one of a string or object', fc);

  const tier = optString(b, 'service_tier');
  if (tier !== undefined && !SERVICE_TIER_SET.has(tier)) throw invalidValue('service_tier', tier, SERVICE_TIERS);

  checkExtras(b);

  const toolNames = validateTools(b);
  const toolChoice = validateToolChoice(b, toolNames);
  const json = wantsJson(b, messages);

  return {
    model,
    messages,
    stream,
    includeUsage: usage,
    n,
    maxTokens: maxCompletion ?? maxTokens,
    toolNames: toolNames ?? [],
    toolChoice,
    json,
  };
}
