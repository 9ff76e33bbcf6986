import { eventData, SseFramer } from '../../providers/shared/sse.ts';
import type { PiiType } from '../pii/types.ts';
import { TextWindow } from './text-window.ts';

/** What an output rule does with the values it finds in an answer. */
export interface OutputRule {
  redact: ReadonlySet<PiiType>;
  block: ReadonlySet<PiiType>;
  /** Characters held back per choice in a stream (see TextWindow). */
  window: number;
  /** Puts reversibly redacted values back (after the scan: the caller's own values are not masked again). */
  restore?: (text: string) => string;
}

/** What the filter saw: counts per type (never values), and the type that stopped the answer, if any. */
export interface OutputVerdict {
  found: Partial<Record<PiiType, number>>;
  blocked: PiiType | null;
  rewritten: boolean;
}

/** The error event that ends a stream an output guardrail stopped: never a clean finish. */
export function outputBlockedEvent(type: PiiType): string {
  return `data: ${JSON.stringify({
    error: {
      message: `The answer was stopped by an output guardrail: it contained a value of type ${type}.`,
      type: 'guardrail_error',
      code: 'output_blocked',
      param: null,
    },
  })}\n\n`;
}

interface Chunk {
  choices?: Array<{ index?: number; delta?: { content?: unknown }; finish_reason?: unknown }>;
  [field: string]: unknown;
}

/**
 * Filters an OpenAI chat.completion.chunk stream: the content deltas of each choice pass through a TextWindow, so a
 * value split across chunks is still caught, and the SSE framing stays valid (events are rewritten whole, held-back
 * text leaves in a later event of the same choice). A blocked value ends the stream with an error event.
 */
export class StreamAnswerFilter {
  private readonly framer = new SseFramer();
  private readonly windows = new Map<number, TextWindow>();
  private readonly rule: OutputRule;
  /** The last chunk seen, as the template for a chunk that carries flushed text. */
  private template: Chunk | null = null;
  private blocked: PiiType | null = null;
  private rewritten = false;

  constructor(rule: OutputRule) {
    this.rule = rule;
  }

  push(chunk: Buffer, endOfStream: boolean): Buffer {
    const events = this.framer.push(chunk);
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) events.push(rest);
    }
    let out = '';
    for (const event of events) {
      if (this.blocked) break;
      out += this.onEvent(event);
    }
    return Buffer.from(out);
  }

  verdict(): OutputVerdict {
    const found: Partial<Record<PiiType, number>> = {};
    for (const window of this.windows.values()) {
      for (const [type, count] of Object.entries(window.found) as Array<[PiiType, number]>) found[type] = (found[type] ?? 0) + count;
    }
    return { found, blocked: this.blocked, rewritten: this.rewritten };
  }

  private onEvent(event: string): string {
    const data = eventData(event);
    if (data === null) return `${event}\n\n`;
    let parsed: Chunk | null = null;
    if (data !== '[DONE]') {
      try {
        parsed = JSON.parse(data) as Chunk;
      } catch {
        parsed = null;
      }
    }
    // [DONE], an error event or anything else: what the windows still hold goes out first, in a chunk of its own.
    if (!parsed || !Array.isArray(parsed.choices)) return this.flushAll() + (this.blocked ? '' : `${event}\n\n`);
    this.template = parsed;
    let changed = false;
    for (const choice of parsed.choices) {
      const window = this.windowOf(choice.index ?? 0);
      const content = choice.delta?.content;
      let released = typeof content === 'string' ? window.push(content) : '';
      if (choice.finish_reason) released += window.flush();
      if (window.blocked) return this.block(window.blocked, parsed, choice.index ?? 0, released);
      if (typeof content === 'string' ? released !== content : released !== '') {
        choice.delta = { ...(choice.delta ?? {}), content: released };
        changed = true;
      }
    }
    if (!changed) return `${event}\n\n`;
    this.rewritten = true;
    return `data: ${JSON.stringify(parsed)}\n\n`;
  }

  private windowOf(index: number): TextWindow {
    let window = this.windows.get(index);
    if (!window) {
      window = new TextWindow(this.rule);
      this.windows.set(index, window);
    }
    return window;
  }

  /** Held-back text of every choice, as chunks, before a non-chunk event ([DONE], an error). */
  private flushAll(): string {
    let out = '';
    for (const [index, window] of this.windows) {
      const rest = window.flush();
      if (window.blocked) return out + this.block(window.blocked, this.template, index, rest);
      if (rest) out += this.chunkWith(index, rest);
    }
    return out;
  }

  private block(type: PiiType, template: Chunk | null, index: number, before: string): string {
    this.blocked = type;
    this.rewritten = true;
    return (before ? this.chunkWith(index, before, template) : '') + outputBlockedEvent(type);
  }

  private chunkWith(index: number, content: string, template: Chunk | null = this.template): string {
    const { choices: _choices, usage: _usage, ...rest } = template ?? { object: 'chat.completion.chunk' };
    this.rewritten = true;
    return `data: ${JSON.stringify({ ...rest, choices: [{ index, delta: { content }, finish_reason: null }] })}\n\n`;
  }
}

/**
 * Filters a whole chat.completion: each choice's content is scanned at once. A blocked value empties the content and
 * sets finish_reason "content_filter" (the status already left with the headers, and this is how OpenAI-compatible
 * APIs report filtered content); redacted values are masked. Returns null when nothing changed or the body is not a
 * chat completion.
 */
export function filterCompletion(body: Buffer, rule: OutputRule): { body: Buffer | null; verdict: OutputVerdict } {
  const verdict: OutputVerdict = { found: {}, blocked: null, rewritten: false };
  let parsed: { choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }> };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return { body: null, verdict };
  }
  if (!Array.isArray(parsed.choices)) return { body: null, verdict };
  for (const choice of parsed.choices) {
    const content = choice.message?.content;
    if (typeof content !== 'string' || !choice.message) continue;
    const window = new TextWindow(rule);
    const released = window.push(content) + window.flush();
    for (const [type, count] of Object.entries(window.found) as Array<[PiiType, number]>) verdict.found[type] = (verdict.found[type] ?? 0) + count;
    if (window.blocked) {
      verdict.blocked ??= window.blocked;
      choice.message.content = '';
      choice.finish_reason = 'content_filter';
      verdict.rewritten = true;
    } else if (released !== content) {
      choice.message.content = released;
      verdict.rewritten = true;
    }
  }
  return { body: verdict.rewritten ? Buffer.from(JSON.stringify(parsed)) : null, verdict };
}
