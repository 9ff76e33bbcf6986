import type { TopicsGuardrailConfig } from './config.ts';
import { badAnswer, GuardrailCallError, joinUrl, postJson, type FetchLike } from './http.ts';
import { addFinding, type GuardrailCheck, type GuardrailClient, type GuardrailInput } from './verdict.ts';

interface EmbeddingsAnswer {
  data?: Array<{ index?: unknown; embedding?: unknown }>;
}

interface Phrase {
  topic: string;
  list: 'deny' | 'allow';
  vector: Float32Array;
}

function unit(values: number[]): Float32Array {
  const vector = Float32Array.from(values);
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < vector.length; i += 1) vector[i] = vector[i]! / norm;
  return vector;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += a[i]! * b[i]!;
  return sum;
};

const round = (x: number) => Math.round(x * 1000) / 1000;
const PHRASES_TIMEOUT_MS = 30_000;

/** `promise`, or a timeout error when `signal` aborts first (the phrases may be in flight for an earlier caller). */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new GuardrailCallError('timeout', 'the topic phrases were not embedded in time'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new GuardrailCallError('timeout', 'the topic phrases were not embedded in time'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Topic allow and deny lists by meaning (see TopicsGuardrailConfig). The example phrases are embedded once, in one
 * call, as soon as the guardrail is created (a config reload creates it anew); a failed attempt is retried at the
 * next request. Each request then costs one embeddings call for the text it compares.
 */
export function topicsClient(config: TopicsGuardrailConfig, apiKey: string | null, fetchImpl: FetchLike = fetch): GuardrailClient {
  const url = joinUrl(config.url, '/embeddings');
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const embed = async (input: string[], signal: AbortSignal): Promise<Float32Array[]> => {
    const answer = await postJson(fetchImpl, url, headers, { model: config.model, input, encoding_format: 'float' }, signal) as EmbeddingsAnswer;
    const data = answer?.data;
    if (!Array.isArray(data) || data.length !== input.length) throw badAnswer('not one embedding per input');
    const out: Float32Array[] = new Array(input.length);
    data.forEach((entry, position) => {
      const index = Number.isInteger(entry?.index) ? entry.index as number : position;
      if (!Array.isArray(entry?.embedding) || entry.embedding.length === 0 || index < 0 || index >= input.length) throw badAnswer('an entry without an embedding');
      out[index] = unit(entry.embedding as number[]);
    });
    return out;
  };
  const listed: Array<Omit<Phrase, 'vector'> & { text: string }> = [];
  for (const list of ['deny', 'allow'] as const) {
    for (const [topic, phrases] of Object.entries(config[list] ?? {})) {
      for (const text of phrases) listed.push({ topic, list, text });
    }
  }
  const hasAllow = Object.keys(config.allow ?? {}).length > 0;
  let phrases: Promise<Phrase[]> | null = null;
  const examples = (signal: AbortSignal) => {
    phrases ??= embed(listed.map((p) => p.text), signal).then(
      (vectors) => listed.map(({ topic, list }, i) => ({ topic, list, vector: vectors[i]! })),
      (error: unknown) => {
        phrases = null;
        throw error;
      },
    );
    return phrases;
  };
  // Embedded ahead of the first request, with time to spare (a model process may still be warming up); if that
  // fails, the first request tries again within its own timeout.
  examples(AbortSignal.timeout(PHRASES_TIMEOUT_MS)).catch(() => undefined);
  return {
    async check(input: GuardrailInput, signal: AbortSignal): Promise<GuardrailCheck> {
      const texts = input.compare ?? input.texts;
      const [known, vectors] = await Promise.all([withSignal(examples(signal), signal), embed(texts, signal)]);
      const findings: GuardrailCheck['findings'] = {};
      let flagged = false;
      for (const vector of vectors) {
        const best = new Map<string, number>();
        let bestAllowed = -1;
        for (const phrase of known) {
          const similarity = dot(vector, phrase.vector);
          if (phrase.list === 'allow') {
            if (similarity > bestAllowed) bestAllowed = similarity;
          } else if (similarity > (best.get(phrase.topic) ?? -Infinity)) {
            best.set(phrase.topic, similarity);
          }
        }
        for (const [topic, similarity] of best) {
          if (similarity < config.threshold) continue;
          addFinding(findings, topic, round(similarity));
          flagged = true;
        }
        if (hasAllow && bestAllowed < config.threshold) {
          addFinding(findings, 'off_topic', round(1 - bestAllowed));
          flagged = true;
        }
      }
      return { flagged, findings };
    },
  };
}
