import { errors } from '../../errors/errors.ts';
import { contentBlocks, textBlocks } from './content.ts';
import type { ContentBlock, MessageTurn, TextBlock, ToolUseBlock } from './wire.ts';

/**
 * Anthropic requires the conversation to open with a user turn; an OpenAI conversation may open with the assistant
 * (an app showing a greeting, say) or hold only a system prompt. Rather than drop or re-role the assistant's words,
 * a minimal neutral user turn is put in front, so the model sees the conversation as the client sent it.
 */
export const CONVERSATION_START = '(conversation start)';

type Message = Readonly<Record<string, unknown>>;

/** What one OpenAI message becomes: part of the system prompt, or a turn (empty turns are dropped later). */
type Converted = { system: TextBlock[] } | { turn: MessageTurn };

function toolUse(call: unknown, param: string): ToolUseBlock {
  const c = call as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
  if (c?.type !== undefined && c.type !== 'function') throw errors.badRequest(`Tool call type '${String(c.type)}' is not supported.`, `${param}.type`, 'unsupported_parameter');
  const args = typeof c.function?.arguments === 'string' ? c.function.arguments : '';
  let input: unknown = {};
  if (args.trim() !== '') {
    try {
      input = JSON.parse(args);
    } catch {
      throw errors.badRequest('Tool call arguments must be a JSON object.', `${param}.function.arguments`, 'invalid_value');
    }
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw errors.badRequest('Tool call arguments must be a JSON object.', `${param}.function.arguments`, 'invalid_value');
  }
  return { type: 'tool_use', id: String(c.id ?? ''), name: String(c.function?.name ?? ''), input: input as Record<string, unknown> };
}

/**
 * OpenAI role → its Anthropic form. System and developer messages are lifted into `system` wherever they stand
 * (Anthropic has no system turns); a message's `name` has no counterpart and is dropped.
 */
const ROLE_CONVERTERS: Readonly<Record<string, (m: Message, param: string) => Converted>> = {
  system: (m, param) => ({ system: textBlocks(m.content, `${param}.content`) }),
  developer: (m, param) => ({ system: textBlocks(m.content, `${param}.content`) }),
  user: (m, param) => ({ turn: { role: 'user', content: contentBlocks(m.content, `${param}.content`) } }),
  assistant: (m, param) => {
    const content = contentBlocks(m.content, `${param}.content`);
    if (content.length === 0 && typeof m.refusal === 'string' && m.refusal.trim() !== '') content.push({ type: 'text', text: m.refusal });
    const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
    calls.forEach((call, i) => content.push(toolUse(call, `${param}.tool_calls[${i}]`)));
    return { turn: { role: 'assistant', content } };
  },
  // Tool results travel in a user turn; consecutive ones merge into one turn below.
  tool: (m, param) => {
    const text = textBlocks(m.content, `${param}.content`);
    const content = typeof m.content === 'string' ? m.content : text;
    return {
      turn: {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: String(m.tool_call_id ?? ''), ...(text.length > 0 ? { content } : {}) }],
      },
    };
  },
};

/** Anthropic wants the tool results first in the user turn that answers a tool call. */
function resultsFirst(blocks: ContentBlock[]): ContentBlock[] {
  const results = blocks.filter((b) => b.type === 'tool_result');
  return results.length === 0 ? blocks : [...results, ...blocks.filter((b) => b.type !== 'tool_result')];
}

/**
 * Anthropic treats a final assistant turn as the start of its answer (prefill) and rejects it when it ends in
 * whitespace; the whitespace carries no meaning, so it is trimmed.
 */
function trimFinalAssistant(turns: MessageTurn[]): void {
  const last = turns.at(-1);
  if (last?.role !== 'assistant') return;
  const block = last.content.at(-1);
  if (block?.type !== 'text') return;
  block.text = block.text.trimEnd();
  if (block.text === '') last.content.pop();
  if (last.content.length === 0) turns.pop();
}

export interface TranslatedConversation {
  system: string | TextBlock[] | undefined;
  messages: MessageTurn[];
}

/** OpenAI `messages` → Anthropic `system` + strictly alternating `messages` that open with a user turn. */
export function translateMessages(messages: readonly unknown[]): TranslatedConversation {
  const system: TextBlock[] = [];
  const turns: MessageTurn[] = [];
  messages.forEach((message, i) => {
    const m = (message ?? {}) as Message;
    const role = String(m.role);
    const convert = ROLE_CONVERTERS[role];
    if (!convert) throw errors.badRequest(`Messages with role '${role}' cannot be sent to Anthropic models.`, `messages[${i}].role`, 'unsupported_parameter');
    const converted = convert(m, `messages[${i}]`);
    if ('system' in converted) {
      system.push(...converted.system);
      return;
    }
    // An empty message (no text, no calls) is dropped: Anthropic rejects empty turns and it says nothing.
    if (converted.turn.content.length === 0) return;
    const previous = turns.at(-1);
    // Anthropic wants user and assistant to alternate: same-role neighbours become one turn.
    if (previous?.role === converted.turn.role) previous.content.push(...converted.turn.content);
    else turns.push(converted.turn);
  });
  for (const turn of turns) if (turn.role === 'user') turn.content = resultsFirst(turn.content);
  trimFinalAssistant(turns);
  if (turns[0]?.role !== 'user') turns.unshift({ role: 'user', content: [{ type: 'text', text: CONVERSATION_START }] });
  const first = system[0];
  // One plain block reads best as a string; a cache mark needs the block form.
  const plain = system.length === 1 && first && !first.cache_control;
  return { system: system.length === 0 ? undefined : plain ? first.text : system, messages: turns };
}
