import type { Usage } from '../pipeline/context.ts';
import type { AnthropicStop } from '../providers/provider-adapter.ts';

/**
 * Chat answers → Anthropic Message objects, for clients of POST /v1/messages. Everything before the dialect stage
 * (route translation, output guardrails, cache, quota) works on chat answers; here they take Anthropic's form.
 */

type Json = Record<string, unknown>;

/** OpenAI `finish_reason` → Anthropic `stop_reason` (the reverse of src/providers/anthropic/stop-reasons.ts). */
const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export function stopReasonFor(finishReason: unknown): string {
  return (typeof finishReason === 'string' ? STOP_REASONS[finishReason] : undefined) ?? 'end_turn';
}

/** An Anthropic id: an Anthropic provider's own `msg_…` id is kept, anything else is named after the request. */
export function messageIdFor(id: unknown, requestId: string): string {
  return typeof id === 'string' && id.startsWith('msg_') ? id : `msg_${requestId.replaceAll('-', '')}`;
}

/**
 * Anthropic usage: `input_tokens` excludes prompt-cache reads and writes, which it counts apart. The pipeline's
 * usage (set by the route stage from the provider's report) is exact; a chat usage object (a cached answer) only
 * knows cache reads.
 */
export function anthropicUsage(usage: Usage | null, chatUsage: unknown): Json {
  if (usage) {
    const read = usage.cachedPromptTokens ?? 0;
    const write = usage.cacheWriteTokens ?? 0;
    return {
      input_tokens: Math.max(0, usage.promptTokens - read - write),
      output_tokens: usage.completionTokens,
      cache_creation_input_tokens: write,
      cache_read_input_tokens: read,
    };
  }
  const u = (chatUsage ?? {}) as { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } };
  const read = u.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (u.prompt_tokens ?? 0) - read),
    output_tokens: u.completion_tokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: read,
  };
}

/** Tool call arguments are a JSON string in chat; Anthropic's `input` is the object. A broken string stays readable. */
export function toolInput(args: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : { value: parsed };
  } catch {
    return { arguments: args };
  }
}

export interface MessageContext {
  requestId: string;
  /** The model the answer names when the chat answer does not (the one the provider was asked for). */
  model: string;
  usage: Usage | null;
  /** An Anthropic provider's own stop reason, which wins over the one read back from finish_reason. */
  stop?: AnthropicStop | undefined;
}

/** A `chat.completion` → an Anthropic `message`. */
export function chatCompletionToMessage(completion: Json, context: MessageContext): Json {
  const choice = ((completion.choices as Json[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message ?? {}) as { content?: unknown; refusal?: unknown; tool_calls?: unknown };
  const content: Json[] = [];
  // Extended thinking comes first, as Anthropic sends it (see src/providers/anthropic/response.ts).
  const thinking = (message as { thinking_blocks?: unknown }).thinking_blocks;
  if (Array.isArray(thinking)) content.push(...(thinking as Json[]));
  const text = typeof message.content === 'string' ? message.content : typeof message.refusal === 'string' ? message.refusal : '';
  if (text !== '') content.push({ type: 'text', text });
  for (const call of Array.isArray(message.tool_calls) ? (message.tool_calls as Json[]) : []) {
    const fn = (call.function ?? {}) as { name?: unknown; arguments?: unknown };
    content.push({ type: 'tool_use', id: String(call.id ?? ''), name: String(fn.name ?? ''), input: toolInput(fn.arguments) });
  }
  return {
    id: messageIdFor(completion.id, context.requestId),
    type: 'message',
    role: 'assistant',
    model: typeof completion.model === 'string' && completion.model ? completion.model : context.model,
    content,
    stop_reason: context.stop?.reason ?? stopReasonFor(choice.finish_reason),
    stop_sequence: context.stop?.sequence ?? null,
    usage: anthropicUsage(context.usage, completion.usage),
  };
}
