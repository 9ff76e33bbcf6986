/**
 * The fake's deterministic answers to a `GenerateRequest`: `Echo: <last user text>`, `Tool result: …` after a
 * function response, a function call when tools are declared with mode ANY, JSON in JSON mode (valid against the
 * response schema when one is given), a blocked prompt
 * when the last user text contains `[fake:block]`; as a `generateContent` body or as `alt=sse` stream events.
 */
import type { Json } from '../shared/json.ts';
import { schemaInstance } from '../shared/schema-instance.ts';
import { countWords, piecesUpTo } from '../shared/text.ts';
import type { GenerateRequest } from './validate-generate.ts';

export interface GeminiAnswer {
  kind: 'text' | 'call' | 'blocked';
  /** Text pieces, one stream event each (kind text). */
  pieces: string[];
  call: { name: string; args: Json } | null;
  finishReason: 'STOP' | 'MAX_TOKENS';
  promptTokens: number;
  /** Output tokens of one candidate. */
  candidateTokens: number;
  /** Reasoning tokens reported when the request sets a thinking budget. */
  thoughtsTokens: number;
  /** Prompt tokens served from Gemini's implicit cache (a repeated prefix of ≥ 1,024 tokens). */
  cachedTokens: number;
}

/** The smallest prefix Gemini's implicit caching serves (2.5 Flash). */
const MIN_CACHED_PREFIX = 1024;

/** Implicit caching: the system instruction and every turn but the last, when long enough, read on the second sight. */
function implicitCache(r: GenerateRequest, cache: Set<string> | undefined): number {
  if (!cache) return 0;
  const prefix = r.contents.slice(0, -1);
  let tokens = countWords(r.systemText);
  for (const content of prefix) for (const part of content.parts) tokens += countWords(partText(part));
  if (tokens < MIN_CACHED_PREFIX) return 0;
  const key = JSON.stringify([r.systemText, prefix]);
  if (cache.has(key)) return tokens;
  cache.add(key);
  return 0;
}

/** The trigger for a prompt blocked by Gemini's safety filters. */
export const BLOCK_TRIGGER = '[fake:block]';

function partText(part: GenerateRequest['contents'][number]['parts'][number]): string {
  if (part.text !== undefined) return part.text;
  if (part.functionCall) return JSON.stringify(part.functionCall.args);
  if (part.functionResponse) return JSON.stringify(part.functionResponse.response);
  return '';
}

/** The prompt's tokens as the fake counts them (words of the system instruction and every part): `:countTokens`. */
export function promptTokensOf(r: GenerateRequest): number {
  let tokens = countWords(r.systemText);
  for (const content of r.contents) for (const part of content.parts) tokens += countWords(partText(part));
  return tokens;
}

export function answerGenerate(r: GenerateRequest, cache?: Set<string>): GeminiAnswer {
  const promptTokens = promptTokensOf(r);
  let lastUser = '';
  for (const content of r.contents) {
    const texts = content.parts.filter((p) => p.text !== undefined).map((p) => p.text);
    if (content.role === 'user' && texts.length > 0) lastUser = texts.join(' ');
  }
  const last = r.contents[r.contents.length - 1];
  const responses = last?.parts.filter((p) => p.functionResponse) ?? [];
  const thoughtsTokens = r.thinkingBudget !== undefined && r.thinkingBudget > 0 ? 3 : 0;
  const base = { promptTokens, thoughtsTokens, cachedTokens: implicitCache(r, cache), call: null, finishReason: 'STOP' as const };

  if (lastUser.includes(BLOCK_TRIGGER) && responses.length === 0) return { ...base, kind: 'blocked', pieces: [], candidateTokens: 0 };
  const mayCall = r.toolChoice.mode === 'ANY' || r.toolChoice.mode === 'VALIDATED';
  if (r.toolNames.length > 0 && mayCall && responses.length === 0) {
    const name = r.toolChoice.allowed[0] ?? r.toolNames[0] ?? '';
    const args = { echo: lastUser };
    return { ...base, kind: 'call', pieces: [], call: { name, args }, candidateTokens: 1 + countWords(JSON.stringify(args)) };
  }
  const result = responses.map((p) => JSON.stringify(p.functionResponse?.response)).join(' ');
  const content = responses.length > 0
    ? (r.json ? JSON.stringify({ tool_result: result }) : `Tool result: ${result}`)
    : (r.json ? JSON.stringify(r.responseSchema === undefined ? { echo: lastUser } : schemaInstance(r.responseSchema, lastUser)) : `Echo: ${lastUser}`);
  const { pieces, capped } = piecesUpTo(content, r.maxOutputTokens);
  return { ...base, kind: 'text', pieces, finishReason: capped ? 'MAX_TOKENS' : 'STOP', candidateTokens: pieces.length };
}

function usageMetadata(r: GenerateRequest, a: GeminiAnswer): Json {
  const candidates = a.candidateTokens * r.candidateCount;
  const thoughts = a.thoughtsTokens * r.candidateCount;
  return {
    promptTokenCount: a.promptTokens,
    ...(a.kind === 'blocked' ? {} : { candidatesTokenCount: candidates }),
    totalTokenCount: a.promptTokens + candidates + thoughts,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: a.promptTokens }],
    ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
    ...(a.cachedTokens > 0 ? { cachedContentTokenCount: a.cachedTokens, cacheTokensDetails: [{ modality: 'TEXT', tokenCount: a.cachedTokens }] } : {}),
  };
}

/** Usage in an event before the last: Gemini reports the prompt so far, the output only at the end. */
function partialUsage(a: GeminiAnswer): Json {
  return { promptTokenCount: a.promptTokens, totalTokenCount: a.promptTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: a.promptTokens }] };
}

const BLOCKED_FEEDBACK = {
  blockReason: 'SAFETY',
  safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }],
};

/** The signature a Gemini 3 model attaches to its first function call: opaque bytes, here derived from the name. */
export function fakeThoughtSignature(name: string): string {
  return Buffer.from(`fake-thought:${name}`).toString('base64');
}

function candidateParts(r: GenerateRequest, a: GeminiAnswer, pieces: string[]): Json[] {
  if (a.kind === 'call' && a.call) {
    return [{ functionCall: { name: a.call.name, args: a.call.args }, ...(r.signsCalls ? { thoughtSignature: fakeThoughtSignature(a.call.name) } : {}) }];
  }
  return [{ text: pieces.join('') }];
}

function candidates(r: GenerateRequest, parts: Json[], finishReason: string | null): Json[] {
  const out: Json[] = [];
  for (let index = 0; index < r.candidateCount; index++) {
    out.push({ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index });
  }
  return out;
}

export function generateBody(r: GenerateRequest, a: GeminiAnswer, model: string, responseId: string): string {
  const head = a.kind === 'blocked'
    ? { promptFeedback: BLOCKED_FEEDBACK }
    : { candidates: candidates(r, candidateParts(r, a, a.pieces), a.finishReason) };
  return JSON.stringify({ ...head, usageMetadata: usageMetadata(r, a), modelVersion: model, responseId });
}

/** The `alt=sse` events: one per text piece (or the whole function call), usage complete in the last. */
export function streamFrames(r: GenerateRequest, a: GeminiAnswer, model: string, responseId: string): string[] {
  const frame = (event: Json): string => `data: ${JSON.stringify({ ...event, modelVersion: model, responseId })}\r\n\r\n`;
  if (a.kind === 'blocked') return [frame({ promptFeedback: BLOCKED_FEEDBACK, usageMetadata: usageMetadata(r, a) })];
  if (a.kind === 'call') return [frame({ candidates: candidates(r, candidateParts(r, a, []), a.finishReason), usageMetadata: usageMetadata(r, a) })];
  return a.pieces.map((piece, i) => {
    const last = i === a.pieces.length - 1;
    return frame({
      candidates: candidates(r, [{ text: piece }], last ? a.finishReason : null),
      usageMetadata: last ? usageMetadata(r, a) : partialUsage(a),
    });
  });
}
