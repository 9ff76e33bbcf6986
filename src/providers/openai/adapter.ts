import type { RequestContext } from '../../pipeline/context.ts';
import type { ProviderAdapter, ResponseTransformer, UpstreamTarget } from '../provider-adapter.ts';
import { OpenAIStreamTransformer } from './stream.ts';
import { fromOpenAIUsage } from './usage.ts';

const PATHS = { chat: '/chat/completions', embeddings: '/embeddings' } as const;

/** Per request: whether Tollgate added stream_options.include_usage (so the usage chunk must be removed again). */
const addedUsage = new WeakSet<RequestContext>();

/** JSON responses pass through unchanged; their pieces are kept only to read the usage at the end. */
function jsonUsageReader(ctx: RequestContext): ResponseTransformer | null {
  if (ctx.response.status !== 200) return null;
  const pieces: Buffer[] = [];
  return {
    onChunk(chunk, endOfStream) {
      pieces.push(chunk);
      if (!endOfStream) return;
      try {
        ctx.usage = fromOpenAIUsage((JSON.parse(Buffer.concat(pieces).toString('utf8')) as { usage?: unknown }).usage);
      } catch {
        ctx.log.warn('provider answered 200 with a body that is not JSON');
      }
    },
  };
}

/** OpenAI and every OpenAI-compatible API (vLLM, Ollama, Groq, Mistral…): a passthrough with a credential. */
export const openaiAdapter: ProviderAdapter = {
  prepareRequest(ctx, target: UpstreamTarget) {
    const endpoint = ctx.endpoint === 'embeddings' ? 'embeddings' : 'chat';
    ctx.upstream.path = target.provider.basePath + PATHS[endpoint];
    if (target.credential) ctx.upstream.setHeader('authorization', `Bearer ${target.credential}`);
    const body = ctx.body;
    if (!body) return;
    if (target.upstreamModel !== body.model) {
      body.model = target.upstreamModel;
      ctx.upstream.bodyChanged = true;
    }
    if (ctx.stream) {
      const options = (body.stream_options ?? {}) as Record<string, unknown>;
      if (options.include_usage !== true) {
        body.stream_options = { ...options, include_usage: true };
        ctx.upstream.bodyChanged = true;
        addedUsage.add(ctx);
      }
    }
  },

  responseTransformer(ctx) {
    if (ctx.response.streaming) {
      return ctx.response.status === 200 ? new OpenAIStreamTransformer(ctx, addedUsage.has(ctx)) : null;
    }
    return jsonUsageReader(ctx);
  },
};
