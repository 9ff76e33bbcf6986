/** Deterministic answers to a validated `MessagesCall` (echo, tool_use, tool result), their usage, and the JSON body. */
import type { Json } from '../shared/json.ts';
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
  inputTokens: number;
  outputTokens: number;
  /** With extended thinking on: the thinking block's text (in stream pieces) and signature; null otherwise. */
  thinking: { pieces: string[]; text: string; signature: string } | null;
}

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

/** What the model "thought", when the call turned thinking on: deterministic, with a signature like the real one's. */
function thinkingOf(call: MessagesCall, echo: string): Answer['thinking'] {
  if (!call.thinking) return null;
  const text = `Thinking about: ${echo}`;
  return { pieces: splitFixed(text, 8), text, signature: Buffer.from(`sig:${text}`).toString('base64') };
}

export function answer(call: MessagesCall): Answer {
  let inputTokens = countWords(call.systemText);
  for (const turn of call.turns) inputTokens += 3 + turn.blocks.reduce((n, b) => n + blockTokens(b), 0);
  const lastUser = [...call.turns].reverse().find((t) => t.role === 'user');
  const results = lastUser ? toolResultText(lastUser) : null;
  const echo = lastUser ? userText(lastUser) : '';

  const demanded = call.toolChoice.type === 'any' || call.toolChoice.type === 'tool';
  const offered = call.toolNames.length > 0 && call.toolChoice.type !== 'none';
  if (offered && (demanded || results === null)) {
    const toolName = call.toolChoice.type === 'tool' ? call.toolChoice.name : (call.toolNames[0] ?? '');
    const toolInput = { echo };
    const json = JSON.stringify(toolInput);
    return {
      kind: 'tool', pieces: splitFixed(json, 8), text: json, toolName, toolInput, stopReason: 'tool_use', stopSequence: null,
      inputTokens, outputTokens: 1 + countWords(json), thinking: thinkingOf(call, echo),
    };
  }

  const full = results !== null ? `Tool result: ${results}` : `Echo: ${echo}`;
  const stopped = applyStopSequences(full, call.stopSequences);
  const { pieces, capped } = piecesUpTo(stopped.text, call.maxTokens);
  const stopReason: StopReason = capped ? 'max_tokens' : stopped.stop === null ? 'end_turn' : 'stop_sequence';
  return {
    kind: 'text', pieces, text: pieces.join(''), toolName: '', toolInput: {}, stopReason,
    stopSequence: stopReason === 'stop_sequence' ? stopped.stop : null, inputTokens, outputTokens: Math.max(1, pieces.length),
    thinking: thinkingOf(call, echo),
  };
}

/** Usage as the real API reports it (cache counters included, zero here). */
export function usageJson(a: Answer, outputTokens: number): Json {
  return { input_tokens: a.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens };
}

/** The JSON body of a non-streaming answer. */
export function messageBody(call: MessagesCall, a: Answer, ids: IdCounters): string {
  const content: Json[] = [];
  if (a.thinking) content.push({ type: 'thinking', thinking: a.thinking.text, signature: a.thinking.signature });
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

