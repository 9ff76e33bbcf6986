import { errors } from '../errors/errors.ts';
import type { ImageSource } from '../providers/anthropic/wire.ts';
import { formatAsResponseFormat, MESSAGES_FIELDS_MARKER, NATIVE_FIELDS, requestedFormat } from './native-fields.ts';

/**
 * POST /v1/messages (Anthropic's Messages API) → the chat-completions form every stage works on. The reverse of
 * src/providers/anthropic/request.ts: an Anthropic client's body becomes an OpenAI chat body, so auth, guardrails,
 * policy, quotas, cache and routing run unchanged, and any provider adapter can serve it. Bad input fails with a
 * GatewayError (400) whose message reads like Anthropic's own (`messages.0.content: Field required`); the dialect's
 * error renderer gives it Anthropic's error shape.
 */

type Json = Record<string, unknown>;
type Part = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Anthropic names a bad field by its dotted path (`messages.0.content.1.type`). */
const invalid = (path: string, message: string) => errors.badRequest(`${path}: ${message}`, path);

const requireString = (value: unknown, path: string): string => {
  if (typeof value !== 'string') throw invalid(path, value === undefined ? 'Field required' : 'Input should be a valid string');
  return value;
};

/** What a user turn holds in chat form: tool results become `tool` messages, the rest stays in the user message. */
interface ConvertedTurn {
  toolMessages: Json[];
  parts: Part[];
  toolCalls: Json[];
}

function imageUrl(source: unknown, path: string): string {
  if (!isObject(source)) throw invalid(`${path}.source`, 'Field required');
  const s = source as Partial<ImageSource> & Json;
  if (s.type === 'url') return requireString(s.url, `${path}.source.url`);
  if (s.type === 'base64') return `data:${requireString(s.media_type, `${path}.source.media_type`)};base64,${requireString(s.data, `${path}.source.data`)}`;
  throw invalid(`${path}.source.type`, "Input should be 'base64' or 'url'");
}

/** Text of a tool result or a system prompt: a string, or text blocks (other block kinds have no chat form there). */
function textOf(content: unknown, path: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(path, 'Input should be a valid string or list');
  return content.map((block, i) => {
    if (!isObject(block) || block.type !== 'text') throw invalid(`${path}.${i}.type`, 'only text blocks are supported here by this gateway');
    return requireString(block.text, `${path}.${i}.text`);
  }).join('\n');
}

/**
 * Anthropic content block type → what it adds to the chat turn. Thinking blocks (the model's earlier reasoning)
 * have no chat counterpart and are left out; `cache_control` marks are provider hints with no chat meaning.
 */
const BLOCK_CONVERTERS: Readonly<Record<string, (block: Json, path: string, turn: ConvertedTurn, role: string) => void>> = {
  text: (block, path, turn) => {
    turn.parts.push({ type: 'text', text: requireString(block.text, `${path}.text`) });
  },
  image: (block, path, turn) => {
    turn.parts.push({ type: 'image_url', image_url: { url: imageUrl(block.source, path) } });
  },
  document: (block, path, turn) => {
    const source = block.source as Json | undefined;
    if (source?.type !== 'base64') throw invalid(`${path}.source.type`, 'only base64 documents are supported by this gateway');
    turn.parts.push({ type: 'file', file: { filename: typeof block.title === 'string' ? block.title : 'document.pdf', file_data: imageUrl(source, path) } });
  },
  tool_use: (block, path, turn, role) => {
    if (role !== 'assistant') throw invalid(`${path}.type`, 'tool_use blocks may only appear in assistant messages');
    turn.toolCalls.push({
      id: requireString(block.id, `${path}.id`),
      type: 'function',
      function: { name: requireString(block.name, `${path}.name`), arguments: JSON.stringify(isObject(block.input) ? block.input : {}) },
    });
  },
  tool_result: (block, path, turn, role) => {
    if (role !== 'user') throw invalid(`${path}.type`, 'tool_result blocks may only appear in user messages');
    // A chat tool message holds text only: images a tool returned (a screenshot, a read image file) follow in the
    // user message after the tool messages, where every provider can see them.
    let content = block.content;
    if (Array.isArray(content)) {
      const isImage = (b: unknown): b is Json => isObject(b) && b.type === 'image';
      content.forEach((b: unknown, i) => { if (isImage(b)) BLOCK_CONVERTERS.image?.(b, `${path}.content.${i}`, turn, role); });
      content = content.filter((b) => !isImage(b));
    }
    const text = content === undefined ? '' : textOf(content, `${path}.content`);
    turn.toolMessages.push({
      role: 'tool',
      tool_call_id: requireString(block.tool_use_id, `${path}.tool_use_id`),
      // An error result is still the tool's answer; the model should know it failed.
      content: block.is_error === true ? `Error: ${text}` : text,
    });
  },
  thinking: () => undefined,
  redacted_thinking: () => undefined,
};

/** One Anthropic turn → chat messages (tool messages first: they answer the previous assistant turn's calls). */
function convertTurn(message: unknown, index: number): Json[] {
  const path = `messages.${index}`;
  if (!isObject(message)) throw invalid(path, 'Input should be a valid dictionary');
  const role = message.role;
  if (role !== 'user' && role !== 'assistant') throw invalid(`${path}.role`, "Input should be 'user' or 'assistant'");
  const content = message.content;
  if (content === undefined) throw invalid(`${path}.content`, 'Field required');
  if (typeof content === 'string') return [{ role, content }];
  if (!Array.isArray(content)) throw invalid(`${path}.content`, 'Input should be a valid string or list');
  const turn: ConvertedTurn = { toolMessages: [], parts: [], toolCalls: [] };
  content.forEach((block, i) => {
    const blockPath = `${path}.content.${i}`;
    if (!isObject(block)) throw invalid(blockPath, 'Input should be a valid dictionary');
    const convert = BLOCK_CONVERTERS[String(block.type)];
    if (!convert) throw invalid(`${blockPath}.type`, `block type '${String(block.type)}' is not supported by this gateway`);
    convert(block, blockPath, turn, role);
  });
  const out: Json[] = [...turn.toolMessages];
  if (role === 'assistant') {
    const text = turn.parts.map((part) => String(part.text ?? '')).join('');
    if (text !== '' || turn.toolCalls.length > 0) {
      out.push({ role, content: text === '' ? null : text, ...(turn.toolCalls.length > 0 ? { tool_calls: turn.toolCalls } : {}) });
    }
  } else if (turn.parts.length > 0) {
    out.push({ role, content: turn.parts });
  }
  return out;
}

function convertTools(tools: unknown): Json[] {
  if (!Array.isArray(tools)) throw invalid('tools', 'Input should be a valid list');
  return tools.map((tool, i) => {
    if (!isObject(tool)) throw invalid(`tools.${i}`, 'Input should be a valid dictionary');
    // Anthropic's server tools (web search, bash, text editor…) run at Anthropic; they have no chat form.
    if (tool.type !== undefined && tool.type !== 'custom') throw invalid(`tools.${i}.type`, `tool type '${String(tool.type)}' is not supported by this gateway; only custom tools are`);
    if (!isObject(tool.input_schema)) throw invalid(`tools.${i}.input_schema`, 'Field required');
    return {
      type: 'function',
      function: {
        name: requireString(tool.name, `tools.${i}.name`),
        ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
        parameters: tool.input_schema,
      },
    };
  });
}

/** Anthropic's `tool_choice` → OpenAI's, with `disable_parallel_tool_use` as `parallel_tool_calls: false`. */
function convertToolChoice(choice: unknown, chat: Json): void {
  if (!isObject(choice)) throw invalid('tool_choice', 'Input should be a valid dictionary');
  const mapped: Readonly<Record<string, unknown>> = {
    auto: 'auto',
    any: 'required',
    none: 'none',
    tool: { type: 'function', function: { name: typeof choice.name === 'string' ? choice.name : '' } },
  };
  const value = mapped[String(choice.type)];
  if (value === undefined) throw invalid('tool_choice.type', "Input should be 'auto', 'any', 'tool' or 'none'");
  if (choice.type === 'tool') requireString(choice.name, 'tool_choice.name');
  chat.tool_choice = value;
  if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
}

/**
 * Each top-level Messages field with a chat translation. Anthropic's own fields (src/messages/native-fields.ts) ride
 * in the chat form under a marker; any other field is refused, as Anthropic refuses it.
 */
const MAX_CHAT_STOPS = 4;

const FIELDS: Readonly<Record<string, (value: unknown, chat: Json) => void>> = {
  model: (value, chat) => { chat.model = requireString(value, 'model'); },
  max_tokens: (value, chat) => {
    if (!Number.isInteger(value) || (value as number) < 0) throw invalid('max_tokens', 'Input should be a valid integer greater than or equal to 0');
    // 0 warms Anthropic's prompt cache without generating: Anthropic's own (the chat form, and quota, count 1).
    if (value === 0) chat[MESSAGES_FIELDS_MARKER] = { ...(chat[MESSAGES_FIELDS_MARKER] as Json | undefined), max_tokens: 0 };
    chat.max_tokens = value === 0 ? 1 : value;
  },
  messages: () => undefined,
  system: () => undefined,
  stop_sequences: (value, chat) => {
    if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) throw invalid('stop_sequences', 'Input should be a valid list of strings');
    // The chat `stop` holds at most 4 (OpenAI's limit, which the chat schema enforces); more ride as Anthropic's own.
    if (value.length > MAX_CHAT_STOPS) chat[MESSAGES_FIELDS_MARKER] = { ...(chat[MESSAGES_FIELDS_MARKER] as Json | undefined), stop_sequences: value };
    else if (value.length > 0) chat.stop = value;
  },
  stream: (value, chat) => {
    if (typeof value !== 'boolean') throw invalid('stream', 'Input should be a valid boolean');
    // The Anthropic stream always ends with usage (message_delta): the chat form asks every provider for it.
    if (value) {
      chat.stream = true;
      chat.stream_options = { include_usage: true };
    }
  },
  temperature: (value, chat) => {
    if (typeof value !== 'number' || value < 0 || value > 1) throw invalid('temperature', 'Input should be a number between 0 and 1');
    chat.temperature = value;
  },
  top_p: (value, chat) => {
    if (typeof value !== 'number') throw invalid('top_p', 'Input should be a valid number');
    chat.top_p = value;
  },
  metadata: (value, chat) => {
    if (!isObject(value)) throw invalid('metadata', 'Input should be a valid dictionary');
    // The chat `user` is what names the tenant's end user (validate stage) and goes to providers as theirs.
    if (typeof value.user_id === 'string') chat.user = value.user_id;
  },
  tools: (value, chat) => {
    const tools = convertTools(value);
    if (tools.length > 0) chat.tools = tools;
  },
  tool_choice: (value, chat) => convertToolChoice(value, chat),
};

export interface MessagesRequestState {
  /** The client's body as sent: what an Anthropic provider gets (model aside) when no stage changed the request. */
  original: Readonly<Json>;
}

/** An Anthropic Messages body → its chat form. Throws GatewayError (400) on what Anthropic itself would refuse. */
export function messagesToChat(body: Json): Json {
  const chat: Json = {};
  const native: Json = {};
  for (const [field, value] of Object.entries(body)) {
    const translate = FIELDS[field];
    const rule = NATIVE_FIELDS[field];
    if (!translate && !rule) throw invalid(field, 'Extra inputs are not permitted');
    if (value === null || value === undefined) continue;
    if (translate) translate(value, chat);
    else {
      rule?.check(value, field);
      native[field] = value;
    }
  }
  // Structured output is the one native field every provider can honour: as the chat response_format.
  const format = requestedFormat(native);
  if (format) chat.response_format = formatAsResponseFormat(format);
  if (Object.keys(native).length > 0) chat[MESSAGES_FIELDS_MARKER] = { ...(chat[MESSAGES_FIELDS_MARKER] as Json | undefined), ...native };
  requireString(body.model, 'model');
  if (body.max_tokens === undefined) throw invalid('max_tokens', 'Field required');
  if (body.max_tokens === null) throw invalid('max_tokens', 'Input should be a valid integer');
  if (!Array.isArray(body.messages)) throw invalid('messages', body.messages === undefined ? 'Field required' : 'Input should be a valid list');
  const messages: Json[] = [];
  if (body.system !== undefined && body.system !== null) {
    const system = textOf(body.system, 'system');
    if (system !== '') messages.push({ role: 'system', content: system });
  }
  body.messages.forEach((message, i) => messages.push(...convertTurn(message, i)));
  chat.messages = messages;
  return chat;
}

/**
 * What POST /v1/messages/count_tokens takes: the prompt's fields. Anthropic refuses the others there (`max_tokens`,
 * `stream`, sampling fields) as unknown, and so does Tollgate.
 */
const COUNT_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'system', 'tools', 'tool_choice',
  ...Object.entries(NATIVE_FIELDS).filter(([, rule]) => rule.count).map(([field]) => field),
]);

/** A count_tokens body → the chat form of its prompt (no max_tokens: nothing is generated). */
export function countTokensToChat(body: Json): Json {
  for (const field of Object.keys(body)) if (!COUNT_FIELDS.has(field)) throw invalid(field, 'Extra inputs are not permitted');
  const chat = messagesToChat({ ...body, max_tokens: 1 });
  delete chat.max_tokens;
  return chat;
}
