/** Shared pieces of the Anthropic translator tests: a target, response info, feeding split bytes, calling the fake. */
import type { AnthropicProviderConfig } from '../../../src/config/types.ts';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter.ts';
import type { OutgoingRequest, ResponseInfo, ResponseTranslator, TranslationTarget } from '../../../src/providers/provider-adapter.ts';

export const CONFIG: AnthropicProviderConfig = {
  type: 'anthropic',
  base_url: 'https://api.anthropic.com/v1',
  anthropic_version: '2023-06-01',
  default_max_tokens: 4096,
};

export const MODEL = 'claude-haiku-4-5';

export function target(overrides: Partial<TranslationTarget> = {}): TranslationTarget {
  return { providerName: 'anthropic', provider: CONFIG, basePath: '/v1', upstreamModel: MODEL, credential: 'sk-ant-test', ...overrides };
}

/** translateRequest for a chat body; `stream` follows the body's own `stream` flag. */
export function translate(body: Record<string, unknown>, overrides: Partial<TranslationTarget> = {}): OutgoingRequest {
  return anthropicAdapter.translateRequest({ endpoint: 'chat', body, stream: body.stream === true, target: target(overrides) });
}

export function responseInfo(overrides: Partial<ResponseInfo> = {}): ResponseInfo {
  return {
    endpoint: 'chat', stream: false, status: 200, clientWantsUsage: false, requestId: 'req-1', createdAt: 1_700_000_000,
    upstreamModel: MODEL, ...overrides,
  };
}

/** Feeds `bytes` cut at the given offsets (as Envoy's network reads would), returns what the client receives. */
export function feed(translator: ResponseTranslator, bytes: Buffer, cuts: readonly number[]): string {
  const edges = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
  const out: Buffer[] = [];
  for (let i = 0; i < edges.length - 1; i++) {
    const piece = bytes.subarray(edges[i], edges[i + 1]);
    const replaced = translator.onChunk(piece, i === edges.length - 2);
    out.push(replaced ?? piece);
  }
  return Buffer.concat(out).toString('utf8');
}

/** Sends an OutgoingRequest to the fake (origin `url`) and returns its raw answer. */
export async function send(url: string, outgoing: OutgoingRequest, extraHeaders: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(`${url}${outgoing.path}`, { method: 'POST', headers: { ...outgoing.headers, ...extraHeaders }, body: JSON.stringify(outgoing.body) });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The `data:` payloads of an OpenAI SSE text, parsed (except `[DONE]`, kept as the string). */
export function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((e) => e.trim() !== '')
    .map((e) => {
      if (!e.startsWith('data: ')) throw new Error(`not an OpenAI SSE event: ${e}`);
      const data = e.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

/** A small seeded PRNG, so the "many offsets" tests are varied yet reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
