import type { AnthropicProviderConfig } from '../../config/types.ts';
import { errors } from '../../errors/errors.ts';
import type { MessagesRequest } from './wire.ts';

type Body = Readonly<Record<string, unknown>>;

/** Anthropic's smallest thinking budget. */
export const MIN_THINKING_BUDGET = 1024;

/**
 * `reasoning_effort` → extended thinking budget in tokens (null: no thinking). The budgets are those Gemini's
 * OpenAI compatibility uses for the same words, so one effort costs about the same on either vendor; `minimal`
 * (and `none`) means no separate thinking, which on Anthropic is thinking left off.
 */
const THINKING_BUDGET: Readonly<Record<string, number | null>> = {
  none: null,
  minimal: null,
  low: MIN_THINKING_BUDGET,
  medium: 8192,
  high: 24576,
};

/**
 * With thinking on, Anthropic wants the assistant turn that called tools back with its signed thinking block first;
 * OpenAI messages have no place for it, so a client's tool loop could never continue. Such a request (tool results
 * answering the last assistant turn) goes without thinking: a plain tool-use conversation Anthropic accepts, the
 * model just does not think again before its final answer.
 */
export function continuesToolUse(out: MessagesRequest): boolean {
  const last = out.messages.at(-1);
  const previous = out.messages.at(-2);
  return last?.role === 'user' && last.content.some((b) => b.type === 'tool_result') &&
    previous?.role === 'assistant' && previous.content.some((b) => b.type === 'tool_use');
}

/**
 * Turns `reasoning_effort` into `thinking: {type: "enabled", budget_tokens}` and makes `max_tokens` fit it.
 * OpenAI's `max_completion_tokens` bounds reasoning and answer together, as Anthropic's `max_tokens` does: a client
 * limit stays the limit and the budget takes at most half of it (the answer keeps room); without a client limit the
 * budget comes on top of the provider's default answer length. Anthropic refuses a temperature other than 1 with
 * thinking (as OpenAI's reasoning models do) and a top_p below 0.95, so such a request is refused here with the reason.
 */
export function applyReasoningEffort(body: Body, out: MessagesRequest, config: AnthropicProviderConfig): void {
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null) return;
  if (typeof effort !== 'string' || !(effort in THINKING_BUDGET)) {
    throw errors.badRequest(`reasoning_effort must be one of ${Object.keys(THINKING_BUDGET).join(', ')}.`, 'reasoning_effort', 'invalid_value');
  }
  const budget = THINKING_BUDGET[effort];
  if (budget === null || budget === undefined || continuesToolUse(out)) return;
  const clientLimit = body.max_completion_tokens ?? body.max_tokens;
  let budgetTokens = budget;
  if (typeof clientLimit === 'number') {
    if (clientLimit <= MIN_THINKING_BUDGET) {
      throw errors.badRequest(`With reasoning_effort on Anthropic models the token limit must exceed ${MIN_THINKING_BUDGET} (the smallest thinking budget).`, body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens', 'invalid_value');
    }
    budgetTokens = Math.min(budget, Math.max(MIN_THINKING_BUDGET, Math.floor(clientLimit / 2)));
  } else {
    out.max_tokens = config.default_max_tokens + budget;
  }
  if (typeof body.temperature === 'number' && body.temperature !== 1) {
    throw errors.badRequest('temperature cannot be set (other than 1) together with reasoning_effort on Anthropic models.', 'temperature', 'unsupported_parameter');
  }
  if (typeof body.top_p === 'number' && body.top_p < 0.95) {
    throw errors.badRequest('top_p must be at least 0.95 together with reasoning_effort on Anthropic models.', 'top_p', 'unsupported_parameter');
  }
  out.thinking = { type: 'enabled', budget_tokens: budgetTokens };
}
