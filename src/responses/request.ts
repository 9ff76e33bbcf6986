import { errors } from '../errors/errors.ts';
import type { GatewayError } from '../errors/gateway-error.ts';

/**
 * The OpenAI Responses API request (`POST /v1/responses`) and its translation to the chat dialect. Tollgate runs
 * every stage on the chat form (one set of stages for both endpoints: auth, policy, guardrails, quotas, cache,
 * metering), so a Responses request becomes a chat request at the door, and the answer becomes a Response again on
 * the way out (./response.ts, ./to-responses-stream.ts). Providers that speak the Responses API natively get it back
 * in their own dialect (`chatToResponsesRequest`).
 *
 * Only what translates faithfully is accepted; everything else is a 400 naming the parameter, never silently dropped.
 */
type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parameters the gateway translates. */
const SUPPORTED = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'max_output_tokens', 'temperature', 'top_p', 'text',
  'metadata', 'stream', 'store', 'previous_response_id', 'user', 'parallel_tool_calls', 'truncation',
]);
/** Real Responses API parameters the gateway does not translate (yet): a clear 400 rather than an ignored field. */
const UNSUPPORTED = new Set([
  'reasoning', 'include', 'background', 'service_tier', 'prompt', 'max_tool_calls', 'top_logprobs', 'conversation',
  'safety_identifier', 'prompt_cache_key', 'stream_options', 'prompt_cache_retention',
]);

/** What the Response object echoes back from the request (the chat form has no place for it). */
export interface ResponsesEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  temperature: number | null;
  top_p: number | null;
  text: Json;
  tool_choice: unknown;
  tools: unknown[];
  user: string | null;
  /** Whether the gateway keeps this response (false without a response store). */
  store: boolean;
}

export interface TranslatedResponsesRequest {
  chat: Json;
  echo: ResponsesEcho;
  /** The answer is to be kept in the response store (`store`, default true as with OpenAI, when a store exists). */
  store: boolean;
  /** The stored response whose conversation this request continues. */
  previousResponseId: string | null;
}

/** What the pipeline keeps about a Responses request (RequestContext.responses). */
export interface ResponsesState {
  echo: ResponsesEcho;
  store: boolean;
  /**
   * The chat messages of the conversation without the instructions (which previous_response_id does not carry
   * over, as with OpenAI): the stored history, then this request's input. The answer is appended when stored.
   */
  conversation: Json[];
}

const bad = (message: string, param: string | null, code = 'invalid_request'): GatewayError => errors.badRequest(message, param, code);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
const wrongType = (param: string, expected: string, v: unknown) =>
  bad(`Invalid type for '${param}': expected ${expected}, but got ${typeName(v)} instead.`, param, 'invalid_type');

/** Content parts of a message item → chat content parts (input) or plain text (assistant). */
function userContent(content: unknown, param: string): unknown {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw wrongType(param, 'a string or an array of content parts', content);
  return content.map((part, i) => {
    const p = `${param}[${i}]`;
    if (!isObj(part)) throw wrongType(p, 'an object', part);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        if (typeof part.text !== 'string') throw wrongType(`${p}.text`, 'a string', part.text);
        return { type: 'text', text: part.text };
      case 'input_image': {
        if (typeof part.image_url !== 'string') {
          throw bad(`Unsupported '${p}': only input_image with an image_url is supported by this gateway (file_id is not).`, p, 'unsupported_parameter');
        }
        const detail = typeof part.detail === 'string' && part.detail !== 'auto' ? { detail: part.detail } : {};
        return { type: 'image_url', image_url: { url: part.image_url, ...detail } };
      }
      default:
        throw bad(`Unsupported content part type '${String(part.type)}' in '${p}': supported are input_text, input_image.`, `${p}.type`, 'unsupported_parameter');
    }
  });
}

function assistantText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw wrongType(param, 'a string or an array of content parts', content);
  return content.map((part, i) => {
    if (!isObj(part) || (part.type !== 'output_text' && part.type !== 'input_text') || typeof part.text !== 'string') {
      throw bad(`Unsupported content in '${param}[${i}]': an assistant message holds output_text parts.`, `${param}[${i}]`, 'unsupported_parameter');
    }
    return part.text;
  }).join('');
}

/** `input` (a string, or items: messages, function calls and their outputs) → chat messages. */
function inputMessages(input: unknown): Json[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) throw wrongType('input', 'a string or an array of input items', input);
  if (input.length === 0) throw bad("Invalid 'input': empty array. Expected an array with minimum length 1.", 'input', 'empty_array');
  const messages: Json[] = [];
  input.forEach((item, i) => {
    const p = `input[${i}]`;
    if (!isObj(item)) throw wrongType(p, 'an object', item);
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = item.role;
      if (role === 'user' || role === 'system' || role === 'developer') {
        messages.push({ role, content: userContent(item.content, `${p}.content`) });
      } else if (role === 'assistant') {
        messages.push({ role: 'assistant', content: assistantText(item.content, `${p}.content`) });
      } else {
        throw bad(`Invalid value for '${p}.role': must be one of user, assistant, system, developer.`, `${p}.role`, 'invalid_value');
      }
      return;
    }
    if (type === 'function_call') {
      if (typeof item.call_id !== 'string') throw bad(`Missing required parameter: '${p}.call_id'.`, `${p}.call_id`, 'missing_required_parameter');
      if (typeof item.name !== 'string') throw bad(`Missing required parameter: '${p}.name'.`, `${p}.name`, 'missing_required_parameter');
      if (typeof item.arguments !== 'string') throw wrongType(`${p}.arguments`, 'a string', item.arguments);
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      // Parallel calls are consecutive items; in chat they are one assistant message.
      const last = messages.at(-1);
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) (last.tool_calls as unknown[]).push(call);
      else if (last?.role === 'assistant' && !last.tool_calls && typeof last.content === 'string') last.tool_calls = [call];
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw bad(`Missing required parameter: '${p}.call_id'.`, `${p}.call_id`, 'missing_required_parameter');
      const output = item.output;
      const content = typeof output === 'string' ? output : Array.isArray(output) ? userContent(output, `${p}.output`) : null;
      if (content === null) throw wrongType(`${p}.output`, 'a string', output);
      messages.push({ role: 'tool', tool_call_id: item.call_id, content });
      return;
    }
    throw bad(
      `Unsupported input item type '${String(type)}' in '${p}': supported are message, function_call, function_call_output.`,
      `${p}.type`, 'unsupported_parameter',
    );
  });
  return messages;
}

function chatTools(tools: unknown): Json[] {
  if (!Array.isArray(tools)) throw wrongType('tools', 'an array', tools);
  return tools.map((tool, i) => {
    const p = `tools[${i}]`;
    if (!isObj(tool)) throw wrongType(p, 'an object', tool);
    if (tool.type !== 'function') {
      throw bad(`Unsupported tool type '${String(tool.type)}' in '${p}': only function tools are supported by this gateway.`, `${p}.type`, 'unsupported_parameter');
    }
    if (typeof tool.name !== 'string' || !tool.name) throw bad(`Missing required parameter: '${p}.name'.`, `${p}.name`, 'missing_required_parameter');
    const fn: Json = { name: tool.name };
    if (tool.description != null) fn.description = tool.description;
    if (tool.parameters != null) fn.parameters = tool.parameters;
    if (tool.strict != null) fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function chatToolChoice(choice: unknown): unknown {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObj(choice) && choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } };
  throw bad("Invalid value for 'tool_choice': must be 'auto', 'none', 'required' or {\"type\":\"function\",\"name\":...}.", 'tool_choice', 'invalid_value');
}

/** `text.format` → chat `response_format` (null: plain text). */
function responseFormat(text: unknown): Json | null {
  if (!isObj(text)) throw wrongType('text', 'an object', text);
  for (const key of Object.keys(text)) {
    if (key !== 'format') throw bad(`Unsupported parameter: 'text.${key}' is not supported by this gateway.`, `text.${key}`, 'unsupported_parameter');
  }
  const format = text.format;
  if (format == null) return null;
  if (!isObj(format)) throw wrongType('text.format', 'an object', format);
  if (format.type === 'text') return null;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    if (typeof format.name !== 'string') throw bad("Missing required parameter: 'text.format.name'.", 'text.format.name', 'missing_required_parameter');
    if (!isObj(format.schema)) throw bad("Missing required parameter: 'text.format.schema'.", 'text.format.schema', 'missing_required_parameter');
    const schema: Json = { name: format.name, schema: format.schema };
    if (format.strict != null) schema.strict = format.strict;
    if (format.description != null) schema.description = format.description;
    return { type: 'json_schema', json_schema: schema };
  }
  throw bad("Invalid value for 'text.format.type': must be one of text, json_object, json_schema.", 'text.format.type', 'invalid_value');
}

function optional<T>(body: Json, key: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw wrongType(key, expected, v);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';

/**
 * Checks a Responses request and returns its chat form plus what the answer must echo. `storeConfigured` says
 * whether a response store exists; without one `store: true` and `previous_response_id` are refused.
 */
export function responsesToChat(body: Json, storeConfigured = false): TranslatedResponsesRequest {
  for (const key of Object.keys(body)) {
    if (UNSUPPORTED.has(key)) {
      throw bad(`Unsupported parameter: '${key}' is not supported by this gateway on /v1/responses.`, key, 'unsupported_parameter');
    }
    if (!SUPPORTED.has(key)) throw bad(`Unknown parameter: '${key}'.`, key, 'unknown_parameter');
  }
  if (typeof body.model !== 'string' || !body.model) throw bad("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  if (body.input === undefined || body.input === null) throw bad("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  if (!storeConfigured) {
    if (body.previous_response_id != null) {
      throw bad("'previous_response_id' needs a response store, and this gateway has none configured: send the whole conversation in 'input' instead.", 'previous_response_id', 'response_store_not_configured');
    }
    if (body.store === true) {
      throw bad("'store': true needs a response store, and this gateway has none configured: send 'store': false (responses are not kept).", 'store', 'response_store_not_configured');
    }
  }
  optional(body, 'store', isBool, 'a boolean');
  if (body.truncation != null && body.truncation !== 'disabled') {
    throw bad("Unsupported value for 'truncation': only 'disabled' is supported by this gateway.", 'truncation', 'unsupported_parameter');
  }
  const instructions = optional(body, 'instructions', isString, 'a string');
  const maxOutput = optional(body, 'max_output_tokens', isNumber, 'an integer');
  if (maxOutput !== undefined && (!Number.isInteger(maxOutput) || maxOutput < 16)) {
    throw bad(`Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got ${maxOutput} instead.`, 'max_output_tokens', 'integer_below_min_value');
  }
  const temperature = optional(body, 'temperature', isNumber, 'a number');
  if (temperature !== undefined && (temperature < 0 || temperature > 2)) throw bad("Invalid 'temperature': must be between 0 and 2.", 'temperature', 'invalid_value');
  const topP = optional(body, 'top_p', isNumber, 'a number');
  if (topP !== undefined && (topP < 0 || topP > 1)) throw bad("Invalid 'top_p': must be between 0 and 1.", 'top_p', 'invalid_value');
  const stream = optional(body, 'stream', isBool, 'a boolean') ?? false;
  const user = optional(body, 'user', isString, 'a string');
  const parallel = optional(body, 'parallel_tool_calls', isBool, 'a boolean');
  const metadata = optional(body, 'metadata', isObj, 'an object') ?? {};
  const metaKeys = Object.keys(metadata);
  if (metaKeys.length > 16) throw bad("Invalid 'metadata': at most 16 key-value pairs.", 'metadata', 'invalid_value');
  for (const key of metaKeys) {
    const value = metadata[key];
    if (typeof value !== 'string' || value.length > 512 || key.length > 64) {
      throw bad(`Invalid 'metadata.${key}': keys are strings of at most 64 characters, values strings of at most 512.`, `metadata.${key}`, 'invalid_value');
    }
  }

  const messages: Json[] = [];
  if (instructions) messages.push({ role: 'system', content: instructions });
  messages.push(...inputMessages(body.input));
  const previousResponseId = optional(body, 'previous_response_id', isString, 'a string') ?? null;

  const chat: Json = { model: body.model, messages };
  if (stream) {
    chat.stream = true;
    // The Response always reports usage (response.completed); the chat leg must carry it.
    chat.stream_options = { include_usage: true };
  }
  if (maxOutput !== undefined) chat.max_tokens = maxOutput;
  if (temperature !== undefined) chat.temperature = temperature;
  if (topP !== undefined) chat.top_p = topP;
  if (user !== undefined) chat.user = user;
  let tools: unknown[] = [];
  if (body.tools != null) {
    tools = body.tools as unknown[];
    const converted = chatTools(body.tools);
    if (converted.length) chat.tools = converted;
  }
  if (body.tool_choice != null) {
    const choice = chatToolChoice(body.tool_choice);
    if (chat.tools) chat.tool_choice = choice;
    else if (choice !== 'none' && choice !== 'auto') throw bad("'tool_choice' needs 'tools'.", 'tool_choice', 'invalid_value');
  }
  if (parallel !== undefined && chat.tools) chat.parallel_tool_calls = parallel;
  const format = body.text != null ? responseFormat(body.text) : null;
  if (format) chat.response_format = format;

  return {
    chat,
    store: storeConfigured && body.store !== false,
    previousResponseId,
    echo: {
      instructions: instructions ?? null,
      max_output_tokens: maxOutput ?? null,
      metadata: metadata as Record<string, string>,
      parallel_tool_calls: parallel ?? true,
      temperature: temperature ?? 1,
      top_p: topP ?? 1,
      text: isObj(body.text) && isObj(body.text.format) ? { format: body.text.format } : { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto',
      tools,
      user: user ?? null,
      store: storeConfigured && body.store !== false,
    },
  };
}

/** Chat content (string or parts) → Responses input content parts. */
function inputParts(content: unknown): unknown {
  if (typeof content === 'string' || !Array.isArray(content)) return content;
  return content.map((part) => {
    if (!isObj(part)) return part;
    if (part.type === 'text') return { type: 'input_text', text: part.text };
    if (part.type === 'image_url' && isObj(part.image_url)) {
      return { type: 'input_image', image_url: part.image_url.url, detail: part.image_url.detail ?? 'auto' };
    }
    return part;
  });
}

/** Chat messages → Responses input items (messages, function calls, their outputs), in order. */
export function chatMessagesToInputItems(messages: readonly unknown[]): Json[] {
  const input: Json[] = [];
  for (const raw of messages) {
    if (!isObj(raw)) continue;
    if (raw.role === 'tool') {
      input.push({ type: 'function_call_output', call_id: raw.tool_call_id, output: typeof raw.content === 'string' ? raw.content : JSON.stringify(raw.content) });
      continue;
    }
    if (raw.role === 'assistant') {
      if (typeof raw.content === 'string' && raw.content) input.push({ role: 'assistant', content: raw.content });
      for (const call of Array.isArray(raw.tool_calls) ? raw.tool_calls : []) {
        if (!isObj(call) || !isObj(call.function)) continue;
        input.push({ type: 'function_call', call_id: call.id, name: call.function.name, arguments: call.function.arguments });
      }
      continue;
    }
    input.push({ role: raw.role, content: inputParts(raw.content) });
  }
  return input;
}

/**
 * The chat form back in the Responses dialect, for providers that speak it natively (OpenAI). Stages may have
 * changed the chat form (redaction, a capped max_tokens), so this is built from it, not from the client's body;
 * `metadata` is only in the echo and travels along. Never stored at the provider: Tollgate keeps no response ids.
 */
export function chatToResponsesRequest(chat: Readonly<Json>, upstreamModel: string, metadata?: Record<string, string>): Json {
  const messages = Array.isArray(chat.messages) ? chat.messages : [];
  const first = messages[0];
  // The leading system message is where responsesToChat put the instructions.
  const instructions = isObj(first) && first.role === 'system' && typeof first.content === 'string' ? first.content : null;
  const input = chatMessagesToInputItems(instructions !== null ? messages.slice(1) : messages);
  const out: Json = { model: upstreamModel, input, store: false };
  if (instructions !== null) out.instructions = instructions;
  if (chat.stream === true) out.stream = true;
  if (typeof chat.max_tokens === 'number') out.max_output_tokens = chat.max_tokens;
  else if (typeof chat.max_completion_tokens === 'number') out.max_output_tokens = chat.max_completion_tokens;
  for (const key of ['temperature', 'top_p', 'user', 'parallel_tool_calls'] as const) if (chat[key] !== undefined) out[key] = chat[key];
  if (Array.isArray(chat.tools)) {
    out.tools = chat.tools.map((tool) => {
      const fn = isObj(tool) && isObj(tool.function) ? tool.function : {};
      return { type: 'function', ...fn };
    });
  }
  if (chat.tool_choice !== undefined) {
    const choice = chat.tool_choice;
    out.tool_choice = isObj(choice) && isObj(choice.function) ? { type: 'function', name: choice.function.name } : choice;
  }
  if (isObj(chat.response_format)) {
    const format = chat.response_format;
    if (format.type === 'json_schema' && isObj(format.json_schema)) out.text = { format: { type: 'json_schema', ...format.json_schema } };
    else if (format.type === 'json_object') out.text = { format: { type: 'json_object' } };
  }
  if (metadata && Object.keys(metadata).length) out.metadata = metadata;
  return out;
}
