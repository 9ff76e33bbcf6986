import type { Usage } from '../../pipeline/context.ts';
import type { ResponseTranslator } from '../provider-adapter.ts';
import { streamTruncatedEvent } from '../shared/errors.ts';
import { eventData, SseFramer } from '../shared/sse.ts';
import { FinishReasons, mayEndChoice } from '../shared/finish-reasons.ts';
import { fromOpenAIUsage } from './usage.ts';

/**
 * Reads an OpenAI chat.completion.chunk stream: takes the usage from the final usage chunk, and when Tollgate asked
 * for usage on the client's behalf (`stripUsage`), removes that chunk again. When the client asked for it, chunks
 * pass through byte for byte. A stream that ends without `[DONE]` gets an error event, never a clean end.
 */
export class OpenAIStreamTransformer implements ResponseTranslator {
  usage: Usage | null = null;
  truncated = false;
  private readonly framer = new SseFramer();
  private readonly stripUsage: boolean;
  private sawDone = false;
  private readonly finished = new FinishReasons();
  get finishReasons(): string[] {
    return this.finished.list;
  }

  constructor(stripUsage: boolean) {
    this.stripUsage = stripUsage;
  }

  onChunk(chunk: Buffer, endOfStream: boolean): Buffer | void {
    const events = this.framer.push(chunk);
    let output: string[] | null = this.stripUsage ? [] : null;
    for (const event of events) {
      const keep = this.inspect(event);
      if (output && keep) output.push(`${this.stripUsage ? dropNullUsage(event) : event}\n\n`);
    }
    if (endOfStream) {
      const rest = this.framer.flush();
      if (rest.trim()) {
        const keep = this.inspect(rest);
        if (output && keep) output.push(rest);
      }
      if (!this.sawDone) {
        this.truncated = true;
        output ??= [chunk.toString('utf8')];
        output.push(streamTruncatedEvent());
      }
    }
    return output ? Buffer.from(output.join('')) : undefined;
  }

  /** Notes usage and [DONE]; returns whether the event is for the client. */
  private inspect(event: string): boolean {
    const data = eventData(event);
    if (data === null) return true;
    if (data === '[DONE]') {
      this.sawDone = true;
      return true;
    }
    if (mayEndChoice(data)) this.noteFinish(data);
    // Only the usage chunk has a usage object; the others carry "usage":null or nothing.
    if (!data.includes('"usage":{') && !data.includes('"usage": {')) return true;
    try {
      const parsed = JSON.parse(data) as { usage?: unknown; choices?: unknown[] };
      const usage = fromOpenAIUsage(parsed.usage);
      if (usage) this.usage = usage;
      return !(this.stripUsage && Array.isArray(parsed.choices) && parsed.choices.length === 0);
    } catch {
      return true;
    }
  }

  private noteFinish(data: string): void {
    try {
      const parsed = JSON.parse(data) as { choices?: Array<{ index?: unknown; finish_reason?: unknown }> };
      for (const choice of parsed.choices ?? []) this.finished.note(choice.index, choice.finish_reason);
    } catch {
      // not JSON: passed through as is, and it ends no choice
    }
  }
}

/** With include_usage on, OpenAI adds "usage":null to every chunk; a client that did not ask never sees it. */
function dropNullUsage(event: string): string {
  return event.replace(/,"usage":null(?=[,}])/g, '').replace(/"usage":null,/g, '');
}
