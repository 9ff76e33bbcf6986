import type { RecordedAnswer } from './cache-entry.ts';
import type { Embedder } from './embeddings-client.ts';

interface ChoiceLike {
  index?: unknown;
  message?: { content?: unknown; tool_calls?: unknown };
  delta?: { content?: unknown; tool_calls?: unknown };
}

function toolCallText(calls: unknown): string {
  if (!Array.isArray(calls)) return '';
  return calls
    .map((call: { function?: { name?: unknown; arguments?: unknown } }) =>
      `${typeof call?.function?.name === 'string' ? call.function.name : ''}(${typeof call?.function?.arguments === 'string' ? call.function.arguments : ''})`)
    .join(' ');
}

/**
 * What the model said in a recorded answer (JSON body or SSE events): the assistant text and any tool calls, every
 * choice in index order. Null when the answer cannot be read.
 */
export function answerText(answer: Pick<RecordedAnswer, 'kind' | 'body' | 'events'>): string | null {
  const parts = new Map<number, string>();
  const add = (choice: ChoiceLike, source: ChoiceLike['message']) => {
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const text = `${typeof source?.content === 'string' ? source.content : ''}${toolCallText(source?.tool_calls)}`;
    parts.set(index, (parts.get(index) ?? '') + text);
  };
  try {
    if (answer.kind === 'json') {
      const parsed = JSON.parse(answer.body ?? '') as { choices?: ChoiceLike[] };
      for (const choice of parsed.choices ?? []) add(choice, choice.message);
    } else {
      for (const event of answer.events ?? []) {
        const parsed = JSON.parse(event) as { choices?: ChoiceLike[] };
        for (const choice of parsed.choices ?? []) add(choice, choice.delta);
      }
    }
  } catch {
    return null;
  }
  if (parts.size === 0) return null;
  return [...parts.entries()].sort(([a], [b]) => a - b).map(([, text]) => text).join('\n');
}

const normalized = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * The verifier of the error-bounded semantic cache: would the stored answer have served the request that got a
 * fresh one? Identical answers (up to case and spacing) agree without a model; otherwise both are embedded with the
 * cache's embeddings model and agree from `minCosine`. Null when the model could not answer: no outcome is counted.
 * The promise of src/cache/error-bound.ts holds relative to this verifier, so it errs on the side of disagreement.
 */
export async function answersAgree(stored: string, fresh: string, embedder: Embedder, minCosine: number): Promise<{ agreed: boolean; similarity: number } | null> {
  if (normalized(stored) === normalized(fresh)) return { agreed: true, similarity: 1 };
  if (!normalized(stored) || !normalized(fresh)) return { agreed: false, similarity: 0 };
  const [a, b] = await Promise.all([embedder.embed(stored), embedder.embed(fresh)]);
  if (!a || !b || a.length !== b.length) return null;
  let similarity = 0;
  for (let i = 0; i < a.length; i += 1) similarity += (a[i] as number) * (b[i] as number);
  return { agreed: similarity >= minCosine, similarity };
}
