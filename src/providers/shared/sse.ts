import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream of Server-Sent Events into whole events. Envoy hands us network reads, not events, so an
 * event can straddle two chunks (and a UTF-8 character two reads); the incomplete tail waits for the next chunk.
 */
export class SseFramer {
  private readonly decoder = new StringDecoder('utf8');
  private tail = '';

  /** Returns the complete events (without their blank-line terminator) now available. */
  push(chunk: Buffer): string[] {
    const text = this.tail + this.decoder.write(chunk);
    const events = text.split(/\r?\n\r?\n/);
    this.tail = events.pop() ?? '';
    return events;
  }

  /** What is left at the end of the stream (an unterminated event), if anything. */
  flush(): string {
    const rest = this.tail + this.decoder.end();
    this.tail = '';
    return rest;
  }
}

/** The payload of an event's `data:` lines (joined as the SSE spec says), or null when it has none. */
export function eventData(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.slice(line.charAt(5) === ' ' ? 6 : 5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}

/**
 * One event of an OpenAI chat stream, as the dialect translators read it: 'done' for the `[DONE]` marker, the chunk
 * when its data is a JSON object, null for anything else (no data, a comment, data that is not a JSON object).
 */
export function chatStreamEvent(event: string): 'done' | Record<string, unknown> | null {
  const data = eventData(event);
  if (data === null) return null;
  if (data.trim() === '[DONE]') return 'done';
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return null;
  }
  return typeof chunk === 'object' && chunk !== null && !Array.isArray(chunk) ? (chunk as Record<string, unknown>) : null;
}
