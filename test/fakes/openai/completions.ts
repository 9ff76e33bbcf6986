/** Chat answers: the deterministic reply to a `ChatRequest` (echo, tool call, JSON), its usage, and the non-streaming body. */
import { isObj } from '../shared/json.ts';
import { contentText, countWords, piecesUpTo, splitFixed } from '../shared/text.ts';
import type { ChatRequest } from './validate-chat.ts';

export const FINGERPRINT = 'fp_tollgate_fake';

/** Per-server counters: `id` numbers request and completion ids, `call` numbers tool call ids. */
export interface IdCounters {
  id: number;
  call: number;
}

export interface ChatAnswer {
  kind: 'text' | 'tool';
  /** text pieces (kind text) or argument fragments (kind tool) */
  pieces: string[];
  content: string;
  finish: 'stop' | 'length' | 'tool_calls';
  toolName: string;
  promptTokens: number;
  /** Prompt tokens read from the fake's prompt cache (OpenAI's automatic caching). */
  cachedTokens: number;
  completionTokensPerChoice: number;
}

/** OpenAI caches prompts of 1,024 tokens and more automatically, in steps of 128 tokens. */
const MIN_CACHED_PROMPT = 1024;
const CACHE_STEP = 128;

/**
 * Automatic prompt caching as OpenAI does it: the prefix before the last message, when it is long enough, is cached
 * by the first request and read (in 128-token steps) by the next ones with the same prefix. `cache` is the server's.
 */
function cachedPrefixTokens(r: ChatRequest, tokensPerMessage: readonly number[], cache: Set<string> | undefined): number {
  if (!cache || r.messages.length < 2) return 0;
  const prefixTokens = tokensPerMessage.slice(0, -1).reduce((n, t) => n + t, 0);
  if (prefixTokens < MIN_CACHED_PROMPT) return 0;
  const key = `${r.model}\u0000${JSON.stringify(r.messages.slice(0, -1))}`;
  if (!cache.has(key)) {
    cache.add(key);
    return 0;
  }
  return Math.floor(prefixTokens / CACHE_STEP) * CACHE_STEP;
}

export function answerChat(r: ChatRequest, cache?: Set<string>): ChatAnswer {
  let promptTokens = 0;
  let lastUser = '';
  const tokensPerMessage: number[] = [];
  for (const m of r.messages) {
    const before = promptTokens;
    promptTokens += 3 + countWords(contentText(m.content));
    if (Array.isArray(m.tool_calls)) {
      for (const c of m.tool_calls) {
        if (isObj(c) && isObj(c.function) && typeof c.function.arguments === 'string') promptTokens += countWords(c.function.arguments);
      }
    }
    if (m.role === 'user') lastUser = contentText(m.content);
    tokensPerMessage.push(promptTokens - before);
  }
  const cachedTokens = cachedPrefixTokens(r, tokensPerMessage, cache);
  const last = r.messages[r.messages.length - 1];
  const lastRole = last?.role;

  if (r.toolNames.length > 0 && r.toolChoice !== 'none' && lastRole === 'user') {
    const toolName = typeof r.toolChoice === 'object' ? r.toolChoice.name : (r.toolNames[0] ?? '');
    const args = JSON.stringify({ echo: lastUser });
    const pieces = splitFixed(args, 8);
    return { kind: 'tool', pieces, content: args, finish: 'tool_calls', toolName, promptTokens, cachedTokens, completionTokensPerChoice: 1 + countWords(args) };
  }

  let content: string;
  if (lastRole === 'tool') {
    const t = contentText(last?.content);
    content = r.json ? JSON.stringify({ tool_result: t }) : `Tool result: ${t}`;
  } else {
    content = r.json ? JSON.stringify({ echo: lastUser }) : `Echo: ${lastUser}`;
  }
  const { pieces, capped } = piecesUpTo(content, r.maxTokens);
  if (capped) content = pieces.join('');
  return { kind: 'text', pieces, content, finish: capped ? 'length' : 'stop', toolName: '', promptTokens, cachedTokens, completionTokensPerChoice: pieces.length };
}

export function usageJson(prompt: number, completion: number, cached = 0): string {
  return (
    `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},` +
    `"prompt_tokens_details":{"cached_tokens":${cached},"audio_tokens":0},` +
    '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}'
  );
}

/** The `chat.completion` JSON body, with `r.n` identical choices. */
export function chatBody(r: ChatRequest, a: ChatAnswer, ids: IdCounters): string {
  const id = `chatcmpl-fake${++ids.id}`;
  const created = Math.floor(Date.now() / 1000);
  let choices = '';
  for (let c = 0; c < r.n; c++) {
    let message: string;
    if (a.kind === 'tool') {
      message = `{"role":"assistant","content":null,"tool_calls":[{"id":"call_${++ids.call}","type":"function","function":{"name":${JSON.stringify(a.toolName)},"arguments":${JSON.stringify(a.content)}}}],"refusal":null,"annotations":[]}`;
    } else {
      message = `{"role":"assistant","content":${JSON.stringify(a.content)},"refusal":null,"annotations":[]}`;
    }
    choices += `${c === 0 ? '' : ','}{"index":${c},"message":${message},"logprobs":null,"finish_reason":"${a.finish}"}`;
  }
  return (
    `{"id":"${id}","object":"chat.completion","created":${created},"model":${JSON.stringify(r.model)},"choices":[${choices}],` +
    `"usage":${usageJson(a.promptTokens, a.completionTokensPerChoice * r.n, a.cachedTokens)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}"}`
  );
}
