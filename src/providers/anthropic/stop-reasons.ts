/** OpenAI's `finish_reason` values, as the chat completion clients switch on them. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. `pause_turn` (a server tool paused a long turn) has no OpenAI
 * counterpart; the turn did end cleanly, so it reads as `stop`. Running out of context window is a length limit.
 */
const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** An unknown (newer) stop reason still ends the choice: `stop` is the reading that breaks no client. */
export function finishReasonFor(stopReason: unknown): FinishReason {
  return (typeof stopReason === 'string' ? FINISH_REASONS[stopReason] : undefined) ?? 'stop';
}
