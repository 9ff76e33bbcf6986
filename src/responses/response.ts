import type { ResponsesEcho } from './request.ts';

/**
 * Response objects of the Responses API, built from the chat form every stage works on, and read back from a
 * provider that answered in the Responses dialect itself.
 */
type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Who the Response is for: its id and creation time, and what the request asked (echoed as the API does). */
export interface ResponseMeta {
  id: string;
  createdAt: number;
  model: string;
  echo: ResponsesEcho;
}

/**
 * The Response id is the gateway's, from its request id (x-tollgate-request-id, the ledger's key), never the
 * provider's: unique even when the cache answers, and the id that GET /v1/responses/{id} knows.
 */
export function responseId(requestId: string): string {
  return `resp_${requestId.replace(/[^A-Za-z0-9]/g, '')}`;
}

/** Item ids derived from the response id, so one answer always gets the same ids (cache replays too). */
export const itemId = (prefix: 'msg' | 'fc', responseIdValue: string, index: number) => `${prefix}_${responseIdValue.slice(5)}_${index}`;

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function responsesUsage(chatUsage: unknown): ResponsesUsage | null {
  if (!isObj(chatUsage)) return null;
  const input = Number(chatUsage.prompt_tokens ?? 0);
  const output = Number(chatUsage.completion_tokens ?? 0);
  const cached = isObj(chatUsage.prompt_tokens_details) ? Number(chatUsage.prompt_tokens_details.cached_tokens ?? 0) : 0;
  const reasoning = isObj(chatUsage.completion_tokens_details) ? Number(chatUsage.completion_tokens_details.reasoning_tokens ?? 0) : 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: Number(chatUsage.total_tokens ?? input + output),
  };
}

/** Chat `finish_reason` → the Response's status and incomplete_details. */
export function responseStatus(finishReason: unknown): { status: 'completed' | 'incomplete'; incomplete_details: Json | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The Response object around `output` (shared by the JSON answer and the stream's lifecycle events). */
export function responseObject(meta: ResponseMeta, fields: {
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  output: unknown[];
  usage: ResponsesUsage | null;
  incomplete_details?: Json | null;
  error?: Json | null;
}): Json {
  const { echo } = meta;
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.createdAt,
    status: fields.status,
    background: false,
    error: fields.error ?? null,
    incomplete_details: fields.incomplete_details ?? null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    max_tool_calls: null,
    model: meta.model,
    output: fields.output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_logprobs: 0,
    top_p: echo.top_p,
    truncation: 'disabled',
    usage: fields.usage,
    user: echo.user,
    metadata: echo.metadata,
  };
}

export function messageItem(id: string, text: string, status: 'in_progress' | 'completed', refusal?: string): Json {
  const content = status === 'in_progress' ? [] : refusal
    ? [{ type: 'refusal', refusal }]
    : [{ type: 'output_text', text, annotations: [], logprobs: [] }];
  return { id, type: 'message', status, content, role: 'assistant' };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: 'in_progress' | 'completed'): Json {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/** A chat.completion (first choice) as a Response object. */
export function chatCompletionToResponse(completion: Json, meta: Omit<ResponseMeta, 'id' | 'model'> & { requestId: string }): Json {
  const id = responseId(meta.requestId);
  const full: ResponseMeta = { ...meta, id, model: typeof completion.model === 'string' ? completion.model : '' };
  const choice = Array.isArray(completion.choices) && isObj(completion.choices[0]) ? completion.choices[0] : {};
  const message = isObj(choice.message) ? choice.message : {};
  const output: Json[] = [];
  const text = typeof message.content === 'string' ? message.content : '';
  const refusal = typeof message.refusal === 'string' && message.refusal ? message.refusal : undefined;
  if (text || refusal) output.push(messageItem(itemId('msg', id, output.length), text, 'completed', refusal));
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isObj(call) || !isObj(call.function)) continue;
    output.push(functionCallItem(itemId('fc', id, output.length), String(call.id ?? ''), String(call.function.name ?? ''), String(call.function.arguments ?? ''), 'completed'));
  }
  return responseObject(full, { ...responseStatus(choice.finish_reason), output, usage: responsesUsage(completion.usage) });
}

/** Responses `usage` → chat usage (the form the stages meter). */
export function chatUsage(usage: unknown): Json | null {
  if (!isObj(usage)) return null;
  const input = Number(usage.input_tokens ?? 0);
  const output = Number(usage.output_tokens ?? 0);
  const cached = isObj(usage.input_tokens_details) ? Number(usage.input_tokens_details.cached_tokens ?? 0) : 0;
  const reasoning = isObj(usage.output_tokens_details) ? Number(usage.output_tokens_details.reasoning_tokens ?? 0) : 0;
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: Number(usage.total_tokens ?? input + output),
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

/** Response status (+ its output) → chat finish_reason. */
export function finishReason(response: Json, hasToolCalls: boolean): string {
  const reason = isObj(response.incomplete_details) ? response.incomplete_details.reason : null;
  if (response.status === 'incomplete') return reason === 'content_filter' ? 'content_filter' : 'length';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/** A provider's Response object (native Responses dialect) → chat.completion, for the stages after the route. */
export function responseToChatCompletion(response: Json, fallbackModel: string): Json {
  let text = '';
  let refusal: string | null = null;
  const toolCalls: Json[] = [];
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (!isObj(item)) continue;
    if (item.type === 'message') {
      for (const part of Array.isArray(item.content) ? item.content : []) {
        if (isObj(part) && part.type === 'output_text' && typeof part.text === 'string') text += part.text;
        if (isObj(part) && part.type === 'refusal' && typeof part.refusal === 'string') refusal = part.refusal;
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
    }
  }
  const message: Json = { role: 'assistant', content: toolCalls.length && !text ? null : text, refusal };
  if (toolCalls.length) message.tool_calls = toolCalls;
  return {
    id: response.id,
    object: 'chat.completion',
    created: Number(response.created_at ?? 0),
    model: typeof response.model === 'string' ? response.model : fallbackModel,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(response, toolCalls.length > 0) }],
    usage: chatUsage(response.usage),
  };
}

/** The assistant turn of a Response as chat messages (what a follow-up with previous_response_id continues from). */
export function responseAsChatMessages(response: Json): Json[] {
  const completion = responseToChatCompletion(response, '');
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : null;
  const message = isObj(choice) && isObj(choice.message) ? choice.message : null;
  if (!message) return [];
  const turn: Json = { role: 'assistant', content: message.content ?? null };
  if (message.tool_calls) turn.tool_calls = message.tool_calls;
  return [turn];
}
