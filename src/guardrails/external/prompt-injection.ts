import type { PromptInjectionConfig } from './config.ts';
import { badAnswer, joinUrl, postJson, type FetchLike } from './http.ts';
import type { GuardrailCheck, GuardrailClient, GuardrailInput } from './verdict.ts';

interface InjectionAnswer {
  scores?: unknown;
  threshold?: unknown;
}

/** Scores of one call to the sidecar, and the threshold that decides: the config's, else the model's own. */
export interface InjectionScores {
  scores: number[];
  threshold: number;
}

const isScore = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value <= 1;

/** The sidecar's answer for `texts` (one score each, in order); any other answer is an error, never "clean". */
export async function scoreInjection(
  config: Pick<PromptInjectionConfig, 'url' | 'threshold'>, apiKey: string | null, texts: string[], signal: AbortSignal, fetchImpl: FetchLike = fetch,
): Promise<InjectionScores> {
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const answer = await postJson(fetchImpl, joinUrl(config.url, '/v1/injection'), headers, { texts }, signal) as InjectionAnswer;
  const scores = answer?.scores;
  if (!Array.isArray(scores) || scores.length !== texts.length || !scores.every(isScore)) throw badAnswer('no score per text');
  const threshold = config.threshold ?? answer.threshold;
  if (!isScore(threshold)) throw badAnswer('no threshold');
  return { scores, threshold };
}

/**
 * The prompt-injection classifier (Tollgate's model sidecar): every user and tool text of the request is scored in
 * one call (system and developer prompts are the operator's, not scored); the
 * highest score becomes the finding `injection` (count: the texts at or above the threshold, at least 1), and a
 * score at or above the threshold flags the request. `tollgate injection-scan` decides with the same function.
 */
export function promptInjectionClient(config: PromptInjectionConfig, apiKey: string | null, fetchImpl: FetchLike = fetch): GuardrailClient {
  return {
    async check(input: GuardrailInput, signal: AbortSignal): Promise<GuardrailCheck> {
      const texts = input.untrusted ?? input.texts;
      if (texts.length === 0) return injectionCheck([], config.threshold ?? 1);
      const { scores, threshold } = await scoreInjection(config, apiKey, texts, signal, fetchImpl);
      return injectionCheck(scores, threshold);
    },
  };
}

export function injectionCheck(scores: number[], threshold: number): GuardrailCheck {
  const top = Math.max(0, ...scores);
  const over = scores.filter((score) => score >= threshold).length;
  return { flagged: over > 0, findings: { injection: { count: Math.max(1, over), score: Math.round(top * 1000) / 1000 } } };
}
