import { promptTokens } from '../quota/estimate.ts';

/**
 * Capability routing: what a chat request needs from the model that serves it, read from its body, and whether a
 * candidate declares it. A candidate that declares nothing (no `capabilities`, no `context_window` on its model or
 * target) is not constrained, so configs written before capabilities existed route as before.
 */
export const CAPABILITIES = ['tools', 'vision', 'json_schema', 'reasoning'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The body field a client would change to make a capability unnecessary (the `param` of the 400). */
export const CAPABILITY_PARAM: Record<Capability | 'context_window', string> = {
  tools: 'tools',
  vision: 'messages',
  json_schema: 'response_format',
  reasoning: 'reasoning_effort',
  context_window: 'messages',
};

/** The capabilities a chat body needs: cheap checks of a few fields, no copy of the body. */
export function requiredCapabilities(body: Readonly<Record<string, unknown>>): Capability[] {
  const needs: Capability[] = [];
  if ((Array.isArray(body.tools) && body.tools.length > 0) || (Array.isArray(body.functions) && body.functions.length > 0)) needs.push('tools');
  if (hasImage(body.messages)) needs.push('vision');
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (format && typeof format === 'object' && format.type === 'json_schema') needs.push('json_schema');
  if (body.reasoning_effort !== undefined || body.reasoning !== undefined) needs.push('reasoning');
  return needs;
}

function hasImage(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const type = (part as { type?: unknown } | null)?.type;
      if (type === 'image_url' || type === 'image') return true;
    }
  }
  return false;
}

/** Tokens asked for the answer (max_completion_tokens, else max_tokens; 0 when unset). */
function outputTokens(body: Readonly<Record<string, unknown>>): number {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && value > 0 ? value : 0;
}

/**
 * The context a request needs (prompt + requested output tokens), computed only when a candidate's window could be
 * too small: a token is at least one byte of the JSON body, so a body whose length plus the output fits the
 * smallest window needs no tokenizer.
 */
export function contextNeeded(body: Readonly<Record<string, unknown>>, bodyBytes: number, smallestWindow: number): number {
  const output = outputTokens(body);
  if (bodyBytes + output <= smallestWindow) return bodyBytes + output;
  return promptTokens('chat', body as Record<string, unknown>) + output;
}
