/**
 * The one way guardrail clients call their service: JSON over HTTP with the caller's abort signal (its timeout).
 * Every failure becomes a GuardrailCallError whose `reason` is safe to log and count (never the text sent).
 */
export class GuardrailCallError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'GuardrailCallError';
    this.reason = reason;
  }
}

export type FetchLike = typeof fetch;

export async function postJson(
  fetchImpl: FetchLike, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw new GuardrailCallError('timeout', `no answer from ${new URL(url).host} in time`);
    throw new GuardrailCallError('unreachable', `${new URL(url).host} unreachable: ${(error as Error).message}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    throw new GuardrailCallError(signal.aborted ? 'timeout' : 'unreachable', `the answer of ${new URL(url).host} was cut`);
  }
  if (!response.ok) throw new GuardrailCallError(`http_${response.status}`, `${new URL(url).host} answered ${response.status}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GuardrailCallError('bad_answer', `${new URL(url).host} answered something other than JSON`);
  }
}

export const badAnswer = (what: string) => new GuardrailCallError('bad_answer', `unexpected answer: ${what}`);

/** `base` without trailing slashes, then `path`. */
export const joinUrl = (base: string, path: string) => base.replace(/\/+$/, '') + path;
