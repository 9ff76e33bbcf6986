import { eventData, SseFramer } from '../providers/shared/sse.ts';
import { countTextTokens } from './estimate.ts';

/**
 * What a stream has delivered so far, for metering a stream that ends without the provider's usage (the client
 * disconnected, or the provider cut it). The chunks are only kept (no parsing on the hot path); they are read
 * once, and only when that usage is missing.
 */
export class DeliveredStream {
  readonly #chunks: Buffer[] = [];

  push(chunk: Buffer): void {
    if (chunk.length > 0) this.#chunks.push(chunk);
  }

  /** Completion tokens in the OpenAI chat.completion.chunk events seen: content, refusals, tool-call arguments. */
  completionTokens(): number {
    const framer = new SseFramer();
    const events = [...this.#chunks.flatMap((chunk) => framer.push(chunk)), framer.flush()];
    let text = '';
    for (const event of events) {
      const data = eventData(event);
      if (!data || data === '[DONE]') continue;
      let parsed: { choices?: Array<{ delta?: Record<string, unknown> }> };
      try {
        parsed = JSON.parse(data) as typeof parsed;
      } catch {
        continue; // an event cut in the middle was not delivered whole
      }
      for (const choice of parsed.choices ?? []) text += deltaText(choice.delta ?? {});
    }
    return countTextTokens(text);
  }
}

function deltaText(delta: Record<string, unknown>): string {
  let text = '';
  for (const field of ['content', 'refusal', 'reasoning_content']) {
    const value = delta[field];
    if (typeof value === 'string') text += value;
  }
  if (Array.isArray(delta.tool_calls)) {
    for (const call of delta.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
      if (typeof call.function?.name === 'string') text += call.function.name;
      if (typeof call.function?.arguments === 'string') text += call.function.arguments;
    }
  }
  return text;
}
