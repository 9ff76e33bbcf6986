import { LLAMA_GUARD_CATEGORIES, type LlamaGuardConfig } from './config.ts';
import { badAnswer, joinUrl, postJson, type FetchLike } from './http.ts';
import type { GuardrailCheck, GuardrailClient, GuardrailInput } from './verdict.ts';

/** "safe", or "unsafe" and a line of comma-separated MLCommons hazard categories (S1..S14). */
const VERDICT = /^(safe|unsafe)(?:\s*\n\s*(S\d{1,2}(?:\s*,\s*S\d{1,2})*))?\s*$/;
const KNOWN = new Set<string>(LLAMA_GUARD_CATEGORIES);

/** The classifier's answer; anything else is an error (the on_error setting decides), never silently "safe". */
export function parseLlamaGuardAnswer(content: string): { safe: boolean; categories: string[] } {
  const match = VERDICT.exec(content.trim());
  if (!match) throw badAnswer('neither "safe" nor "unsafe" with categories');
  const categories = match[2] ? match[2].split(',').map((c) => c.trim()) : [];
  if (match[1] === 'safe') {
    if (categories.length) throw badAnswer('"safe" with categories');
    return { safe: true, categories };
  }
  const unknown = categories.find((c) => !KNOWN.has(c));
  if (unknown) throw badAnswer(`unknown hazard category ${unknown}`);
  return { safe: false, categories };
}

interface ChatAnswer {
  choices?: Array<{ message?: { content?: unknown } }>;
}

/**
 * Llama Guard behind an OpenAI-compatible chat endpoint (vLLM, TGI, Ollama…). The model's chat template turns the
 * conversation into its classification prompt: a request is judged as the user turn, an answer as the agent turn
 * after the user's last message. Only roles user/assistant, alternating, as the template requires.
 */
export function llamaGuardClient(config: LlamaGuardConfig, apiKey: string | null, fetchImpl: FetchLike = fetch): GuardrailClient {
  const url = joinUrl(config.url, '/chat/completions');
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const counted = config.categories ? new Set<string>(config.categories) : KNOWN;
  return {
    async check(input: GuardrailInput, signal: AbortSignal): Promise<GuardrailCheck> {
      const text = input.texts.join('\n\n');
      const messages = input.direction === 'input'
        ? [{ role: 'user', content: text }]
        : [{ role: 'user', content: input.prompt ?? '' }, { role: 'assistant', content: text }];
      const answer = await postJson(fetchImpl, url, headers, { model: config.model, messages, temperature: 0, max_tokens: 20 }, signal) as ChatAnswer;
      const content = answer?.choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw badAnswer('no choices[0].message.content');
      const verdict = parseLlamaGuardAnswer(content);
      const findings: GuardrailCheck['findings'] = {};
      for (const category of verdict.categories) findings[category] = { count: 1, score: 1 };
      // "unsafe" without categories still flags (older Llama Guard versions may omit them).
      const flagged = !verdict.safe && (verdict.categories.length === 0 || verdict.categories.some((c) => counted.has(c)));
      return { flagged, findings };
    },
  };
}
