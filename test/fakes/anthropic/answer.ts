/** Deterministic answers to a validated `MessagesCall` (echo, tool_use, tool result), their usage, and the JSON body. */
import type { Json } from '../shared/json.ts';
import { schemaInstance } from '../shared/schema-instance.ts';
import { contentText, countWords, piecesUpTo, splitFixed } from '../shared/text.ts';
import type { MessagesCall } from './validate-request.ts';
import type { Turn } from './validate-messages.ts';

/** Per-server counters: `id` numbers message and request ids, `tool` numbers tool_use ids. */
export interface IdCounters {
  id: number;
  tool: number;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export interface Answer {
  kind: 'text' | 'tool';
  /** Text pieces (kind text) or fragments of the tool input JSON (kind tool), one stream delta each. */
  pieces: string[];
  /** The whole text (kind text) or the tool input JSON (kind tool). */
  text: string;
  toolName: string;
  toolInput: Json;
  stopReason: StopReason;
  stopSequence: string | null;
  /** Uncached input tokens (after the cached prefix). */
  inputTokens: number;
  /** Output tokens, thinking included (Anthropic bills and counts thinking as output). */
  outputTokens: number;
  /** The extended thinking text (null when thinking is off), sent before the answer. */
  thinking: string | null;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** The smallest prefix Anthropic caches (Sonnet/Opus models); a shorter marked prefix is simply not cached. */
export const MIN_CACHEABLE_TOKENS = 1024;

/** Images and documents cost a flat amount in the fake's token count. */
const TOKENS_PER_ATTACHMENT = 85;

function blockTokens(b: Json): number {
  if (b.type === 'text') return countWords(String(b.text));
  if (b.type === 'tool_use') return countWords(JSON.stringify(b.input));
  if (b.type === 'tool_result') return countWords(contentText(b.content));
  if (b.type === 'image' || b.type === 'document') return TOKENS_PER_ATTACHMENT;
  return 0;
}

function userText(turn: Turn): string {
  return contentText(turn.blocks.filter((b) => b.type === 'text'));
}

function toolResultText(turn: Turn): string | null {
  const results = turn.blocks.filter((b) => b.type === 'tool_result');
  return results.length === 0 ? null : results.map((b) => contentText(b.content)).join(' ');
}

/** The answer text cut at the earliest stop sequence, as the real API does (the sequence itself is not returned). */
function applyStopSequences(text: string, stops: readonly string[]): { text: string; stop: string | null } {
  let cut = -1;
  let stop: string | null = null;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) {
      cut = at;
      stop = s;
    }
  }
  return stop === null ? { text, stop } : { text: text.slice(0, cut), stop };
}

/** Prompt-cache accounting: a marked prefix seen before is read, a new one written (kept in `cache`). */
function cacheUsage(call: MessagesCall, cache: Set<string>, inputTokens: number): { read: number; write: number } {
  const prefix = call.cachePrefix;
  if (!prefix || prefix.tokens < MIN_CACHEABLE_TOKENS) return { read: 0, write: 0 };
  const tokens = Math.min(prefix.tokens, inputTokens);
  if (cache.has(prefix.key)) return { read: tokens, write: 0 };
  cache.add(prefix.key);
  return { read: 0, write: tokens };
}

/** A tool's input: valid against its schema when the schema declares properties, else `{echo}`. */
function toolInputFor(call: MessagesCall, toolName: string, echo: string): Json {
  const schema = call.toolSchemas[toolName];
  const properties = schema?.properties;
  if (properties && typeof properties === 'object' && Object.keys(properties).length > 0) return schemaInstance(schema, echo) as Json;
  return { echo };
}

/**
 * The prompt's tokens as the fake counts them: words of the system and every block, 3 per turn, a flat amount per
 * attachment (cached ones included). `count_tokens` answers this, and a message reports it as its input (cache
 * reads and writes apart), so the two agree as they do at Anthropic.
 */
export function promptTokensOf(call: MessagesCall): number {
  let tokens = countWords(call.systemText);
  for (const turn of call.turns) tokens += 3 + turn.blocks.reduce((n, b) => n + blockTokens(b), 0);
  return tokens;
}

export function answer(call: MessagesCall, cache: Set<string> = new Set()): Answer {
  const promptTokens = promptTokensOf(call);
  const lastUser = [...call.turns].reverse().find((t) => t.role === 'user');
  const results = lastUser ? toolResultText(lastUser) : null;
  const echo = lastUser ? userText(lastUser) : '';
  const cached = cacheUsage(call, cache, promptTokens);
  const inputTokens = promptTokens - cached.read - cached.write;
  const thinking = call.thinkingBudget === null ? null : `Let me think about: ${echo}`;
  const thinkingTokens = thinking === null ? 0 : countWords(thinking);
  const common = { inputTokens, thinking, cacheReadTokens: cached.read, cacheWriteTokens: cached.write };

  // max_tokens 0: the prompt is read (and its marked prefix cached), nothing is generated.
  if (call.maxTokens === 0) {
    return { ...common, thinking: null, kind: 'text', pieces: [], text: '', toolName: '', toolInput: {}, stopReason: 'max_tokens', stopSequence: null, outputTokens: 0 };
  }

  const demanded = call.toolChoice.type === 'any' || call.toolChoice.type === 'tool';
  const offered = call.toolNames.length > 0 && call.toolChoice.type !== 'none';
  if (offered && (demanded || results === null)) {
    const toolName = call.toolChoice.type === 'tool' ? call.toolChoice.name : (call.toolNames[0] ?? '');
    const toolInput = toolInputFor(call, toolName, echo);
    const json = JSON.stringify(toolInput);
    return {
      ...common, kind: 'tool', pieces: splitFixed(json, 8), text: json, toolName, toolInput, stopReason: 'tool_use', stopSequence: null,
      outputTokens: thinkingTokens + 1 + countWords(json),
    };
  }

  // Structured output: the text is a JSON instance of the schema asked for (stop sequences still apply to it).
  const plain = results !== null ? `Tool result: ${results}` : `Echo: ${echo}`;
  const full = call.outputSchema ? JSON.stringify(schemaInstance(call.outputSchema, plain)) : plain;
  const stopped = applyStopSequences(full, call.stopSequences);
  const { pieces, capped } = piecesUpTo(stopped.text, call.maxTokens - thinkingTokens);
  const stopReason: StopReason = capped ? 'max_tokens' : stopped.stop === null ? 'end_turn' : 'stop_sequence';
  return {
    ...common, kind: 'text', pieces, text: pieces.join(''), toolName: '', toolInput: {}, stopReason,
    stopSequence: stopReason === 'stop_sequence' ? stopped.stop : null, outputTokens: thinkingTokens + Math.max(1, pieces.length),
  };
}

/** Usage as the real API reports it: input_tokens are the uncached ones, cache reads and writes apart. */
export function usageJson(a: Answer, outputTokens: number): Json {
  return { input_tokens: a.inputTokens, cache_creation_input_tokens: a.cacheWriteTokens, cache_read_input_tokens: a.cacheReadTokens, output_tokens: outputTokens };
}

/** The signature the real API puts on a thinking block (opaque; the fake's is base64 of the thinking). */
export function thinkingSignature(thinking: string): string {
  return Buffer.from(`fake-signature:${thinking}`).toString('base64');
}

/** The JSON body of a non-streaming answer. */
export function messageBody(call: MessagesCall, a: Answer, ids: IdCounters): string {
  const content: Json[] = [];
  if (a.thinking !== null) content.push({ type: 'thinking', thinking: a.thinking, signature: thinkingSignature(a.thinking) });
  if (a.kind === 'tool') content.push({ type: 'tool_use', id: `toolu_fake${++ids.tool}`, name: a.toolName, input: a.toolInput });
  else if (a.text !== '') content.push({ type: 'text', text: a.text });
  return JSON.stringify({
    id: `msg_fake${++ids.id}`,
    type: 'message',
    role: 'assistant',
    model: call.model,
    content,
    stop_reason: a.stopReason,
    stop_sequence: a.stopSequence,
    usage: { ...usageJson(a, a.outputTokens), service_tier: 'standard' },
  });
}

