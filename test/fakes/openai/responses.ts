/**
 * `POST /v1/responses` of the fake OpenAI: strict validation of the Responses API body (unknown parameters, input
 * items, content parts, function call outputs without their call, tools, tool_choice, text.format, ranges), the
 * Response object and its typed SSE events (`event:` + `data:` with sequence numbers, no [DONE]). Answers are the
 * chat fake's (`answerChat`): echo, a tool call for the first/chosen tool, JSON for text.format.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { contentText } from '../shared/text.ts';
import { answerChat } from './completions.ts';
import type { ChatAnswer, IdCounters } from './completions.ts';
import { ApiError, invalidValue, missing, typeError } from './errors.ts';
import { optArray, optBool, optInt, optNumber, optObject, optString, requireModel } from './fields.ts';
import type { ChatRequest } from './validate-chat.ts';
import type { ToolChoice } from './validate-tools.ts';

const RESPONSES_FIELDS: ReadonlySet<string> = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'max_output_tokens', 'temperature', 'top_p', 'text',
  'metadata', 'stream', 'store', 'previous_response_id', 'user', 'parallel_tool_calls', 'truncation', 'reasoning',
  'include', 'background', 'service_tier', 'prompt', 'max_tool_calls', 'top_logprobs', 'conversation',
  'safety_identifier', 'prompt_cache_key', 'stream_options',
]);
const INPUT_PART_TYPES = ['input_text', 'input_image', 'input_file', 'input_audio'] as const;
const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ResponsesRequest {
  chat: ChatRequest;
  echo: Json;
}

const unknownParameter = (name: string) => new ApiError(400, `Unknown parameter: '${name}'.`, name, 'unknown_parameter');

function validateParts(content: unknown, p: string, assistant: boolean): void {
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) throw typeError(p, 'one of a string or array of input items', content);
  content.forEach((part, i) => {
    const pp = `${p}[${i}]`;
    if (!isObj(part)) throw typeError(pp, 'an object', part);
    const allowed: readonly string[] = assistant ? ['output_text', 'refusal'] : INPUT_PART_TYPES;
    if (typeof part.type !== 'string' || !allowed.includes(part.type)) throw invalidValue(`${pp}.type`, part.type, allowed);
    if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text !== 'string') throw missing(`${pp}.text`);
    if (part.type === 'input_image' && typeof part.image_url !== 'string' && typeof part.file_id !== 'string') {
      throw new ApiError(400, `Invalid '${pp}': one of 'image_url' or 'file_id' must be provided.`, pp, 'invalid_value');
    }
  });
}

/** The input items as chat-like messages (for the shared answer logic) after the real API's checks. */
function validateInput(input: unknown, instructions: string | undefined): Json[] {
  const messages: Json[] = instructions ? [{ role: 'system', content: instructions }] : [];
  if (input === undefined || input === null) throw missing('input');
  if (typeof input === 'string') return [...messages, { role: 'user', content: input }];
  if (!Array.isArray(input)) throw typeError('input', 'one of a string or array of input items', input);
  const calls = new Set<string>();
  input.forEach((item, i) => {
    const p = `input[${i}]`;
    if (!isObj(item)) throw typeError(p, 'an object', item);
    const type = item.type ?? 'message';
    if (type === 'message') {
      if (!['user', 'assistant', 'system', 'developer'].includes(String(item.role))) invalidRole(p, item.role);
      if (item.content === undefined) throw missing(`${p}.content`);
      validateParts(item.content, `${p}.content`, item.role === 'assistant');
      messages.push({ role: item.role, content: item.content });
    } else if (type === 'function_call') {
      if (typeof item.call_id !== 'string') throw missing(`${p}.call_id`);
      if (typeof item.name !== 'string') throw missing(`${p}.name`);
      if (typeof item.arguments !== 'string') throw typeError(`${p}.arguments`, 'a string', item.arguments);
      calls.add(item.call_id);
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } }] });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw missing(`${p}.call_id`);
      if (item.output === undefined) throw missing(`${p}.output`);
      if (!calls.has(item.call_id)) {
        throw new ApiError(400, `No tool call found for function call output with call_id ${item.call_id}.`, 'input', null);
      }
      messages.push({ role: 'tool', content: typeof item.output === 'string' ? item.output : contentText(item.output) });
    } else if (type === 'item_reference' || type === 'reasoning') {
      throw new ApiError(400, `Item of type '${String(type)}' needs a stored response, which this fake does not keep.`, `${p}.type`);
    } else {
      throw invalidValue(`${p}.type`, type, ['message', 'function_call', 'function_call_output', 'item_reference', 'reasoning']);
    }
  });
  if (input.length === 0) throw new ApiError(400, "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'input', 'empty_array');
  return messages;
}

function invalidRole(p: string, role: unknown): never {
  throw invalidValue(`${p}.role`, role, ['user', 'assistant', 'system', 'developer']);
}

function validateTools(b: Json): string[] {
  const tools = optArray(b, 'tools') ?? [];
  return tools.map((t, i) => {
    const p = `tools[${i}]`;
    if (!isObj(t)) throw typeError(p, 'an object', t);
    if (t.type !== 'function') {
      if (typeof t.type === 'string' && ['web_search', 'file_search', 'code_interpreter', 'mcp', 'image_generation', 'custom'].includes(t.type)) return `builtin:${t.type}`;
      throw invalidValue(`${p}.type`, t.type, ['function', 'web_search', 'file_search', 'code_interpreter', 'mcp', 'image_generation', 'custom']);
    }
    // The Responses API flattens the function: name/parameters sit on the tool itself.
    if (t.function !== undefined) throw unknownParameter(`${p}.function`);
    if (typeof t.name !== 'string') throw missing(`${p}.name`);
    if (!TOOL_NAME_RE.test(t.name)) throw new ApiError(400, `Invalid '${p}.name': string does not match pattern '^[a-zA-Z0-9_-]+$'.`, `${p}.name`, 'invalid_value');
    if (t.parameters !== undefined && t.parameters !== null && !isObj(t.parameters)) throw typeError(`${p}.parameters`, 'an object', t.parameters);
    return t.name;
  });
}

function validateToolChoice(b: Json, names: string[]): ToolChoice {
  const tc = b.tool_choice;
  if (tc === undefined || tc === null) return undefined;
  if (tc === 'none' || tc === 'auto' || tc === 'required') return tc;
  if (isObj(tc) && tc.type === 'function') {
    if (typeof tc.name !== 'string') throw missing('tool_choice.name');
    if (!names.includes(tc.name)) throw new ApiError(400, `Tool choice '${tc.name}' not found in 'tools' parameter.`, 'tool_choice');
    return { name: tc.name };
  }
  throw invalidValue('tool_choice', typeof tc === 'string' ? tc : JSON.stringify(tc), ['none', 'auto', 'required']);
}

function validateText(b: Json): boolean {
  const text = optObject(b, 'text');
  if (!text) return false;
  for (const k in text) if (k !== 'format' && k !== 'verbosity') throw unknownParameter(`text.${k}`);
  const format = optObject(text, 'format', 'text.format');
  if (!format) return false;
  if (format.type === 'text') return false;
  if (format.type === 'json_object') return true;
  if (format.type === 'json_schema') {
    if (typeof format.name !== 'string') throw missing('text.format.name');
    if (!isObj(format.schema)) throw missing('text.format.schema');
    if (format.json_schema !== undefined) throw unknownParameter('text.format.json_schema');
    return true;
  }
  throw invalidValue('text.format.type', format.type, ['text', 'json_object', 'json_schema']);
}

export function validateResponses(b: Json, chatModels: ReadonlySet<string>): ResponsesRequest {
  for (const k in b) if (!RESPONSES_FIELDS.has(k)) throw unknownParameter(k);
  const model = requireModel(b, chatModels);
  const instructions = optString(b, 'instructions');
  const messages = validateInput(b.input, instructions);
  const stream = optBool(b, 'stream') ?? false;
  const temperature = optNumber(b, 'temperature', 0, 2);
  const topP = optNumber(b, 'top_p', 0, 1);
  const maxOutput = optInt(b, 'max_output_tokens', 16, Number.MAX_SAFE_INTEGER);
  const store = optBool(b, 'store') ?? true;
  if (b.previous_response_id !== undefined && b.previous_response_id !== null) {
    throw new ApiError(400, `Previous response with id '${String(b.previous_response_id)}' not found.`, 'previous_response_id', 'previous_response_not_found');
  }
  const md = optObject(b, 'metadata') ?? {};
  if (Object.keys(md).length > 16) throw new ApiError(400, "Invalid 'metadata': too many properties.", 'metadata', 'object_above_max_properties');
  for (const k in md) if (typeof md[k] !== 'string') throw typeError(`metadata.${k}`, 'a string', md[k]);
  const user = optString(b, 'user');
  const parallel = optBool(b, 'parallel_tool_calls') ?? true;
  const toolNames = validateTools(b);
  const toolChoice = validateToolChoice(b, toolNames);
  const json = validateText(b);
  const functionNames = toolNames.filter((n) => !n.startsWith('builtin:'));
  return {
    chat: { model, messages, stream, includeUsage: true, n: 1, maxTokens: maxOutput, toolNames: functionNames, toolChoice, json },
    echo: {
      instructions: instructions ?? null, max_output_tokens: maxOutput ?? null, metadata: md, parallel_tool_calls: parallel,
      temperature: temperature ?? 1, top_p: topP ?? 1, store, user: user ?? null,
      text: isObj(b.text) && isObj(b.text.format) ? { format: b.text.format } : { format: { type: 'text' } },
      tool_choice: b.tool_choice ?? 'auto', tools: b.tools ?? [],
    },
  };
}

export function answerResponses(r: ResponsesRequest): ChatAnswer {
  return answerChat(r.chat);
}

interface Ids {
  response: string;
  item: string;
  callId: string;
}

function newIds(ids: IdCounters): Ids {
  const n = ++ids.id;
  return { response: `resp_fake${n}`, item: `${'msg'}_fake${n}`, callId: `call_${++ids.call}` };
}

function usage(a: ChatAnswer): Json {
  return {
    input_tokens: a.promptTokens, input_tokens_details: { cached_tokens: 0 },
    output_tokens: a.completionTokensPerChoice, output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: a.promptTokens + a.completionTokensPerChoice,
  };
}

function responseObject(r: ResponsesRequest, id: string, created: number, status: string, output: Json[], u: Json | null, extra: Json = {}): Json {
  return {
    id, object: 'response', created_at: created, status, background: false, error: null, incomplete_details: null,
    ...r.echo, model: `${r.chat.model}-2025-04-14`, output, previous_response_id: null, reasoning: { effort: null, summary: null },
    service_tier: 'default', top_logprobs: 0, truncation: 'disabled', usage: u, ...extra,
  };
}

function finalItem(a: ChatAnswer, ids: Ids): Json {
  if (a.kind === 'tool') {
    return { id: ids.item.replace('msg_', 'fc_'), type: 'function_call', status: 'completed', arguments: a.content, call_id: ids.callId, name: a.toolName };
  }
  return { id: ids.item, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: a.content, annotations: [], logprobs: [] }] };
}

function terminal(a: ChatAnswer): { status: string; extra: Json } {
  return a.finish === 'length'
    ? { status: 'incomplete', extra: { incomplete_details: { reason: 'max_output_tokens' } } }
    : { status: 'completed', extra: {} };
}

export function responsesBody(r: ResponsesRequest, a: ChatAnswer, ids: IdCounters): string {
  const i = newIds(ids);
  const { status, extra } = terminal(a);
  return JSON.stringify(responseObject(r, i.response, Math.floor(Date.now() / 1000), status, [finalItem(a, i)], usage(a), extra));
}

/** The typed events of one answer; `failAfter` replaces the rest of the stream with an `error` + `response.failed`. */
export function responsesStreamFrames(r: ResponsesRequest, a: ChatAnswer, ids: IdCounters, failAfter?: number): string[] {
  const i = newIds(ids);
  const created = Math.floor(Date.now() / 1000);
  let seq = 0;
  const frames: string[] = [];
  const emit = (type: string, fields: Json) => frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);
  const pending = responseObject(r, i.response, created, 'in_progress', [], null);
  emit('response.created', { response: pending });
  emit('response.in_progress', { response: pending });
  const item = finalItem(a, i);
  const id = String(item.id);
  if (a.kind === 'tool') {
    emit('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } });
    for (const piece of a.pieces) emit('response.function_call_arguments.delta', { item_id: id, output_index: 0, delta: piece, obfuscation: 'x' });
    emit('response.function_call_arguments.done', { item_id: id, output_index: 0, name: a.toolName, arguments: a.content });
  } else {
    emit('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    emit('response.content_part.added', { item_id: id, output_index: 0, content_index: 0, part });
    for (const piece of a.pieces) emit('response.output_text.delta', { item_id: id, output_index: 0, content_index: 0, delta: piece, logprobs: [], obfuscation: 'x' });
    emit('response.output_text.done', { item_id: id, output_index: 0, content_index: 0, text: a.content, logprobs: [] });
    emit('response.content_part.done', { item_id: id, output_index: 0, content_index: 0, part: { ...part, text: a.content } });
  }
  emit('response.output_item.done', { output_index: 0, item });
  const { status, extra } = terminal(a);
  emit(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: responseObject(r, i.response, created, status, [item], usage(a), extra) });
  if (failAfter !== undefined && failAfter < frames.length) {
    frames.length = failAfter;
    seq = failAfter;
    emit('error', { code: 'server_error', message: 'The model failed while generating the response.', param: null });
    emit('response.failed', { response: responseObject(r, i.response, created, 'failed', [], null, { error: { code: 'server_error', message: 'The model failed while generating the response.' } }) });
  }
  return frames;
}

