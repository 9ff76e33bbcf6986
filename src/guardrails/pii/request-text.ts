/**
 * The user-supplied text of an OpenAI request: chat message contents (plain or text parts), tool-call arguments and
 * embeddings input. One walker serves detection (read) and redaction (replace), so both see exactly the same text.
 */
type Rewrite = (text: string) => string;

function rewriteContent(holder: Record<string, unknown>, field: string, rewrite: Rewrite): void {
  const value = holder[field];
  if (typeof value === 'string') {
    const next = rewrite(value);
    if (next !== value) holder[field] = next;
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const part: unknown = value[i];
      if (typeof part === 'string') {
        // Embeddings input may be an array of strings.
        const next = rewrite(part);
        if (next !== part) value[i] = next;
      } else if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
        rewriteContent(part as Record<string, unknown>, 'text', rewrite);
      }
    }
  }
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Calls `rewrite` on every text of the body, in place; a returned string different from the input replaces it. */
export function rewriteRequestText(body: Record<string, unknown>, rewrite: Rewrite): void {
  if (Array.isArray(body.messages)) {
    for (const raw of body.messages) {
      const message = asRecord(raw);
      if (!message) continue;
      rewriteContent(message, 'content', rewrite);
      if (!Array.isArray(message.tool_calls)) continue;
      for (const call of message.tool_calls) {
        const fn = asRecord(asRecord(call)?.function);
        if (fn) rewriteContent(fn, 'arguments', rewrite);
      }
    }
  }
  if ('input' in body) rewriteContent(body, 'input', rewrite);
}

/** Every text of the body, for detection and token estimates. */
export function requestTexts(body: Record<string, unknown>): string[] {
  const texts: string[] = [];
  rewriteRequestText(body, (text) => {
    texts.push(text);
    return text;
  });
  return texts;
}
