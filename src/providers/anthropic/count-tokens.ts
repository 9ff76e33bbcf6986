import type { AnthropicProviderConfig } from '../../config/types.ts';
import { NATIVE_FIELDS } from '../../messages/native-fields.ts';
import { chatWithoutNativeFormat } from './native-fields.ts';
import { translateChatRequest } from './request.ts';

type Json = Record<string, unknown>;

/** The fields Anthropic's `POST /v1/messages/count_tokens` takes: the prompt only; anything else there is a 400. */
const COUNT_FIELDS = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking'] as const;

/**
 * A count_tokens body for an Anthropic provider. `original` is the /v1/messages client's own body when no stage
 * changed the request: it goes as is, only `model` replaced (the passthrough a message gets). Otherwise (a policy
 * redaction) the chat form is translated like a message, then cut down to the prompt's fields, so the provider
 * counts exactly what it would be sent; the client's Anthropic-only fields that count_tokens takes (`thinking`,
 * `output_config`, `mcp_servers`…: settings, not content, with no chat form) ride along.
 */
export function countTokensBody(chat: Readonly<Json>, original: Readonly<Json> | null, upstreamModel: string, config: AnthropicProviderConfig, native: Readonly<Json> | null): Json {
  if (original) return { ...original, model: upstreamModel };
  // The native output format is sent as itself below, not as the chat response_format's forced tool.
  const full = translateChatRequest(chatWithoutNativeFormat(chat, native ?? undefined), upstreamModel, false, config) as unknown as Json;
  const out: Json = {};
  for (const field of COUNT_FIELDS) if (full[field] !== undefined) out[field] = full[field];
  for (const [field, value] of Object.entries(native ?? {})) if (NATIVE_FIELDS[field]?.count) out[field] = value;
  return out;
}
