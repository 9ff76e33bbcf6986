/**
 * The parts of Anthropic's Messages API wire format that the translator writes and reads
 * (https://docs.anthropic.com/en/api/messages). Only what Tollgate produces or consumes is typed.
 */

/** Marks the end of a prompt prefix Anthropic should cache (`ttl` '5m' or '1h'). */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: string;
}

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export type ImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };

export interface ImageBlock {
  type: 'image';
  source: ImageSource;
  cache_control?: CacheControl;
}

export interface DocumentBlock {
  type: 'document';
  source: { type: 'base64'; media_type: string; data: string };
  cache_control?: CacheControl;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | TextBlock[];
}

export type ContentBlock = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock;

export interface MessageTurn {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface ToolDefinition {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
}

export type ToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'none' }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };

/** The body of `POST /v1/messages` as Tollgate builds it. */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: MessageTurn[];
  system?: string | TextBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  metadata?: { user_id: string };
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  thinking?: { type: 'enabled'; budget_tokens: number };
  stream?: true;
}

export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** A response content block; kinds Tollgate never asks for (thinking, server tools) are read as unknown. */
export interface ResponseBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

/** The JSON answer of `POST /v1/messages`. */
export interface MessagesResponse {
  id?: string;
  model?: string;
  content?: ResponseBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}
