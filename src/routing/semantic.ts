import type { Embedder } from '../cache/embeddings-client.ts';
import type { SemanticRoute } from '../config/types.ts';

/**
 * Semantic routing: a request goes to the route whose declared example prompts are most similar to it (cosine of
 * the cache's embedding model's vectors), when that similarity reaches the threshold; otherwise, and whenever the
 * embedding call fails or takes longer than the route's timeout, to the default model. The examples are embedded
 * once per config (the first requests wait for them, within the same timeout); the request costs one embedding call.
 */
export class SemanticRouter {
  private readonly embedder: Embedder;
  /** Per route config object (a reload brings new ones): the examples' vectors, or their pending computation. */
  private readonly examples = new WeakMap<SemanticRoute, Promise<Array<{ model: string; vectors: Float32Array[] }>>>();

  constructor(embedder: Embedder) {
    this.embedder = embedder;
  }

  /**
   * The model for this request text, among `eligible` (what policy and tenant config allow), with why: `similar`
   * (a route matched), `default` (none close enough), `fallback` (no answer in time, or an error).
   */
  async choose(route: SemanticRoute, text: string, eligible: (model: string) => boolean): Promise<{ model: string; reason: 'similar' | 'default' | 'fallback' }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(resolve, route.timeout_ms, null);
    });
    let answer: { vector: Float32Array | null; examples: Array<{ model: string; vectors: Float32Array[] }> } | null;
    try {
      answer = await Promise.race([
        Promise.all([this.embedder.embed(text), this.exampleVectors(route)]).then(([vector, examples]) => ({ vector, examples })),
        timeout,
      ]);
    } catch {
      answer = null;
    } finally {
      // Timers left pending would pile up under load until each fired.
      clearTimeout(timer);
    }
    if (!answer?.vector) return { model: route.default, reason: 'fallback' };
    let best: string | null = null;
    let bestScore = route.threshold;
    for (const { model, vectors } of answer.examples) {
      if (!eligible(model)) continue;
      for (const example of vectors) {
        const score = dot(answer.vector, example);
        if (score >= bestScore) {
          bestScore = score;
          best = model;
        }
      }
    }
    return best === null ? { model: route.default, reason: 'default' } : { model: best, reason: 'similar' };
  }

  /** Starts embedding a route's examples now (failures are retried by the first request that needs them). */
  warm(route: SemanticRoute): void {
    this.exampleVectors(route).catch(() => undefined);
  }

  private exampleVectors(route: SemanticRoute): Promise<Array<{ model: string; vectors: Float32Array[] }>> {
    let pending = this.examples.get(route);
    if (!pending) {
      pending = Promise.all(route.routes.map(async ({ model, examples }) => ({
        model,
        vectors: (await Promise.all(examples.map((example) => this.embedder.embed(example)))).filter((v): v is Float32Array => v !== null),
      })));
      // A failure is retried by a later request instead of being remembered.
      pending.catch(() => this.examples.delete(route));
      this.examples.set(route, pending);
    }
    return pending;
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -1;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** The text a request is routed by: its last user message (string content or text parts). */
export function lastUserText(body: Readonly<Record<string, unknown>>): string {
  const messages = body.messages;
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown } | null;
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (Array.isArray(message.content)) {
      return message.content.map((part) => ((part as { type?: unknown; text?: unknown })?.type === 'text' ? String((part as { text: unknown }).text) : '')).join('\n');
    }
    return '';
  }
  return '';
}
