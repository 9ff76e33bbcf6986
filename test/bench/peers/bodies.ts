/** The model every bench request names (the fake provider answers for any). */
export const MODEL = 'gpt-4o-mini';

/**
 * The chat request bodies of the peer and scaling benchmarks, "{{n}}" standing for the unique part of each:
 * "<tag>-<index, 6 digits>", as the Go generator fills it in (test/bench/loadgen), so every cache lookup misses.
 * With the peer benchmark's tags ("abcdef.500.1.1") the realistic body is 296 bytes: a system message, a user prompt,
 * max_tokens and user, as an app's request looks.
 */
export const BODY_TEMPLATES = {
  realistic: JSON.stringify({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a helpful assistant for an online bookshop. Answer briefly and politely.' },
      { role: 'user', content: 'Suggest a title for a blog post about autumn reading lists. Ref {{n}}' },
    ],
    max_tokens: 64,
    user: 'user-4821',
  }),
  small: `{"model":"${MODEL}","messages":[{"role":"user","content":"Say hello in one short sentence. ({{n}})"}]}`,
} as const;

/**
 * The body of the same-run comparisons of issue 11 (before-after.ts, allocation.ts, memory.ts): a system message, a
 * unique prompt ("{{n}}", filled in by the Go generator), max_tokens and user. Kept as first measured, so their
 * committed results stay comparable.
 */
export const CHANGE_REQUEST_BODY = `{"model":"${MODEL}","messages":[{"role":"system","content":"You are a concise assistant for an internal engineering team."},` +
  '{"role":"user","content":"Summarise the main risks of change request {{n}} for the quarterly review."}],"max_tokens":128,"user":"user-4711"}';

/** A template with its unique part filled in, as the Go generator does for request `index` of a run tagged `tag`. */
export function fillBody(template: string, tag: string, index: number): string {
  return template.replaceAll('{{n}}', `${tag}-${String(index).padStart(6, '0')}`);
}
