import type { MessagesRequest } from './wire.ts';

/** A rough token count for the decision only (never billed): English text and JSON average about 4 characters a token. */
const CHARS_PER_TOKEN = 4;

function hasMarks(out: MessagesRequest): boolean {
  return Boolean(out.tools?.some((tool) => tool.cache_control) ||
    (Array.isArray(out.system) && out.system.some((block) => block.cache_control)) ||
    out.messages.some((turn) => turn.content.some((block) => 'cache_control' in block && block.cache_control)));
}

function prefixChars(out: MessagesRequest): number {
  let chars = typeof out.system === 'string' ? out.system.length : 0;
  if (Array.isArray(out.system)) for (const block of out.system) chars += block.text.length;
  for (const tool of out.tools ?? []) chars += tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.input_schema).length;
  return chars;
}

/**
 * Config-driven prompt caching (`cache_prefix_min_tokens`): apps that resend the same long system prompt and tools
 * pay 0.1× for them on a cache hit, without changing their requests. Anthropic caches the prefix up to a marked
 * block in the order tools → system → messages, so one mark on the last system block covers both (on the last tool
 * when there is no system prompt). Nothing is marked when the client already placed its own marks (it knows its
 * prefixes better) or the prefix is shorter than the threshold (a cache write costs 1.25× input).
 */
export function markSharedPrefix(out: MessagesRequest, minTokens: number): void {
  if (minTokens <= 0 || hasMarks(out)) return;
  if (prefixChars(out) < minTokens * CHARS_PER_TOKEN) return;
  if (typeof out.system === 'string') out.system = [{ type: 'text', text: out.system }];
  const lastSystem = out.system?.at(-1);
  if (lastSystem) {
    lastSystem.cache_control = { type: 'ephemeral' };
    return;
  }
  const lastTool = out.tools?.at(-1);
  if (lastTool) lastTool.cache_control = { type: 'ephemeral' };
}
