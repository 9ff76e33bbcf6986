import type { Usage } from '../pipeline/context.ts';
import type { DirectAnswer } from '../pipeline/stage.ts';
import { eventData, SseFramer } from '../providers/shared/sse.ts';
import { fromOpenAIUsage } from '../providers/openai/usage.ts';

/** One cached answer, in the OpenAI format the client saw. */
export interface CacheEntry {
  kind: 'json' | 'sse';
  /** JSON: the response body. */
  body?: string;
  /** SSE: the data payload of every chunk in order, without the usage chunk and `[DONE]`. */
  events?: string[];
  /** SSE: the usage chunk's payload, replayed only to clients that ask for usage. */
  usageEvent?: string | null;
  /** Usage of the answer: what a hit saves. */
  usage: Usage | null;
  provider: string | null;
  /** Epoch ms. */
  storedAt: number;
  expiresAt: number;
  /** Until when the entry may still answer as stale for a failed provider chain. */
  staleUntil: number;
}

export type RecordedAnswer = Pick<CacheEntry, 'kind' | 'body' | 'events' | 'usageEvent' | 'usage'>;

/** OpenAI's usage object from ours (for a usage chunk the provider sent but the client was not shown). */
function toOpenAIUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    ...(usage.cachedPromptTokens ? { prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens } } : {}),
  };
}

/** A cacheable JSON answer: a chat completion object; anything else (errors, odd bodies) is not stored. */
export function jsonAnswer(body: string): RecordedAnswer | null {
  try {
    const parsed = JSON.parse(body) as { object?: unknown; choices?: unknown; usage?: unknown };
    if (parsed.object !== 'chat.completion' || !Array.isArray(parsed.choices)) return null;
    return { kind: 'json', body, usage: fromOpenAIUsage(parsed.usage) };
  } catch {
    return null;
  }
}

/** With include_usage on, every chunk carries `"usage":null`; stored chunks drop it (as clients that did not ask see them). */
function dropNullUsage(payload: string): string {
  return payload.replace(/,"usage":null(?=[,}])/g, '').replace(/"usage":null,/g, '');
}

interface ChunkIdentity {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  system_fingerprint?: unknown;
}

/**
 * A cacheable stream: complete (`[DONE]` seen), no error event. The usage chunk is kept apart; when the client was
 * not shown one, it is rebuilt from the usage the provider reported to Tollgate, so a later client that asks gets it.
 */
export function sseAnswer(text: string, usage: Usage | null): RecordedAnswer | null {
  const framer = new SseFramer();
  const raw = [...framer.push(Buffer.from(text)), framer.flush()];
  const events: string[] = [];
  let usageEvent: string | null = null;
  let done = false;
  let first: ChunkIdentity | null = null;
  for (const event of raw) {
    const data = eventData(event);
    if (data === null) continue;
    if (done) return null;
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    let parsed: { object?: unknown; choices?: unknown; usage?: unknown; error?: unknown };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return null;
    }
    if (parsed.error !== undefined || parsed.object !== 'chat.completion.chunk' || !Array.isArray(parsed.choices)) return null;
    first ??= parsed as ChunkIdentity;
    if (parsed.choices.length === 0 && parsed.usage && typeof parsed.usage === 'object') usageEvent = data;
    else events.push(dropNullUsage(data));
  }
  if (!done || events.length === 0 || !first) return null;
  if (!usageEvent && usage) {
    usageEvent = JSON.stringify({
      id: first.id, object: 'chat.completion.chunk', created: first.created, model: first.model,
      ...(first.system_fingerprint !== undefined ? { system_fingerprint: first.system_fingerprint } : {}),
      choices: [], usage: toOpenAIUsage(usage),
    });
  }
  return { kind: 'sse', events, usageEvent, usage };
}

export type CacheAnswerStatus = 'hit' | 'stale';

/**
 * The client's answer from an entry: the JSON body as stored, or the whole event stream replayed at once (the same
 * chunks, the usage chunk only when the client asked for usage, then `[DONE]`).
 */
export function answerFromEntry(entry: CacheEntry, status: CacheAnswerStatus, wantsUsage: boolean, now: number): DirectAnswer {
  const headers: Record<string, string> = {
    'x-tollgate-cache': status,
    age: String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))),
  };
  if (entry.provider) headers['x-tollgate-provider'] = entry.provider;
  if (entry.kind === 'json') {
    return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: entry.body ?? '' };
  }
  const payloads = [...(entry.events ?? [])];
  if (wantsUsage && entry.usageEvent) payloads.push(entry.usageEvent);
  payloads.push('[DONE]');
  return {
    status: 200,
    headers: { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    body: payloads.map((payload) => `data: ${payload}\n\n`).join(''),
  };
}

/**
 * The configured fallback answer of a route, as a chat completion (or its stream), marked
 * `x-tollgate-cache: default` so clients and logs can tell it from a model's answer.
 */
export function defaultAnswer(content: string, options: { model: string; requestId: string; createdAt: number; stream: boolean; wantsUsage: boolean }): DirectAnswer {
  const id = `chatcmpl-default-${options.requestId}`;
  const base = { id, created: options.createdAt, model: options.model };
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const headers = { 'x-tollgate-cache': 'default' };
  if (!options.stream) {
    return {
      status: 200,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        ...base, object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
      }),
    };
  }
  const chunk = (choices: unknown[], extra: object = {}) => JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra });
  const payloads = [
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
    chunk([{ index: 0, delta: { content }, logprobs: null, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
    ...(options.wantsUsage ? [chunk([], { usage })] : []),
    '[DONE]',
  ];
  return {
    status: 200,
    headers: { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    body: payloads.map((payload) => `data: ${payload}\n\n`).join(''),
  };
}
