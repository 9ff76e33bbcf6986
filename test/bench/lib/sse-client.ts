import type { IncomingHttpHeaders } from 'node:http';
import type { Pool } from 'undici';

/**
 * One streamed chat request read as a client sees it: time to the first content event and to the end of the stream,
 * and how many content events arrived. Spotting content events is a substring scan, not a JSON parse, so reading an
 * Anthropic stream and an OpenAI stream costs the client about the same and the difference between them is the
 * server side's; `keepText` parses every event instead, to check what a stream carried (smoke checks only).
 */

/** The two wire formats a stream can come in. */
export type SseDialect = 'openai' | 'anthropic';

interface DialectRules {
  /** A text-carrying event (the role chunk's empty content does not count). */
  isContent: (event: string) => boolean;
  /** The provider's clean end of stream. */
  isEnd: (event: string) => boolean;
  /** The text of a content event (parsed: keepText only). */
  textOf: (data: unknown) => string;
}

const DIALECTS: Readonly<Record<SseDialect, DialectRules>> = {
  openai: {
    isContent: (event) => event.includes('"content":"') && !event.includes('"content":""'),
    isEnd: (event) => event === 'data: [DONE]',
    textOf: (data) => String((data as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]?.delta?.content ?? ''),
  },
  anthropic: {
    isContent: (event) => event.includes('"type":"text_delta"'),
    isEnd: (event) => event.startsWith('event: message_stop'),
    textOf: (data) => String((data as { delta?: { text?: unknown } }).delta?.text ?? ''),
  },
};

export interface StreamRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  dialect: SseDialect;
  /** Parse every content event and return the text (slower: for checks, not for timed streams). */
  keepText?: boolean;
  /** Keep the raw events (without their blank-line terminator), e.g. to replay them through a translator. */
  keepEvents?: boolean;
}

export interface StreamOutcome {
  status: number;
  headers: IncomingHttpHeaders;
  /** ms from sending the request to the network read holding the first content event (NaN: none came). */
  ttftMs: number;
  /** ms from sending the request to the end of the response body. */
  totalMs: number;
  contentEvents: number;
  /** The stream ended with the provider's end marker (`[DONE]` / `message_stop`) and no error event. */
  complete: boolean;
  /** An error event's data, if one came. */
  error: string | null;
  text?: string;
  events?: string[];
  /** The body of a non-200 answer. */
  errorBody?: string;
}

export async function streamOnce(pool: Pool, request: StreamRequest): Promise<StreamOutcome> {
  const rules = DIALECTS[request.dialect];
  const sentAt = performance.now();
  const response = await pool.request({ path: request.path, method: 'POST', headers: request.headers, body: request.body });
  if (response.statusCode !== 200) {
    const errorBody = await response.body.text();
    return {
      status: response.statusCode, headers: response.headers as IncomingHttpHeaders, ttftMs: Number.NaN,
      totalMs: performance.now() - sentAt, contentEvents: 0, complete: false, error: null, errorBody,
    };
  }
  let tail = '';
  let ttftMs = Number.NaN;
  let contentEvents = 0;
  let ended = false;
  let error: string | null = null;
  let text = '';
  const events: string[] = [];
  for await (const chunk of response.body) {
    const now = performance.now();
    const parts = (tail + (chunk as Buffer).toString('utf8')).split('\n\n');
    tail = parts.pop() ?? '';
    for (const event of parts) {
      if (request.keepEvents) events.push(event);
      if (rules.isEnd(event)) ended = true;
      else if (event.includes('"error"') && !rules.isContent(event)) error = event;
      if (!rules.isContent(event)) continue;
      if (contentEvents === 0) ttftMs = now - sentAt;
      contentEvents += 1;
      if (request.keepText) text += rules.textOf(JSON.parse(event.slice(event.indexOf('data:') + 5)));
    }
  }
  return {
    status: 200,
    headers: response.headers as IncomingHttpHeaders,
    ttftMs,
    totalMs: performance.now() - sentAt,
    contentEvents,
    complete: ended && error === null && tail.trim() === '',
    error,
    ...(request.keepText ? { text } : {}),
    ...(request.keepEvents ? { events } : {}),
  };
}
