import { requestedFormat } from '../../messages/native-fields.ts';
import { continuesToolUse } from './thinking.ts';
import type { MessagesRequest } from './wire.ts';

type Json = Record<string, unknown>;

/**
 * A /v1/messages request that a stage changed reaches an Anthropic provider translated from its chat form: the
 * client's Anthropic-only fields (top_k, thinking, output_config, container, mcp_servers…) go back on as the client
 * sent them, so a redaction does not silently turn off what the client asked for. Thinking stays off for a request
 * that answers tool calls: the chat form dropped the signed thinking blocks Anthropic wants back then (thinking.ts).
 */
export function withMessagesFields(out: MessagesRequest, fields: Readonly<Json>): Json {
  const body: Json = { ...out };
  for (const [field, value] of Object.entries(fields)) {
    if (field === 'thinking' && continuesToolUse(out)) continue;
    body[field] = value;
  }
  return body;
}

/** The chat body to translate: without the response_format that a native output format became (it goes as itself). */
export function chatWithoutNativeFormat(body: Readonly<Json>, fields: Readonly<Json> | undefined): Readonly<Json> {
  if (!fields || !requestedFormat(fields)) return body;
  const { response_format: _, ...rest } = body;
  return rest;
}
