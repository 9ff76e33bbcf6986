import type { ResolvedProvider } from '../config/catalog.ts';
import type { RequestContext } from '../pipeline/context.ts';

export interface UpstreamTarget {
  provider: ResolvedProvider;
  /** The model name the provider knows. */
  upstreamModel: string;
  /** The provider credential, or null for providers that need none (e.g. a local vLLM). */
  credential: string | null;
}

/** Observes a response body piece by piece; returns a Buffer only when the piece must change. */
export interface ResponseTransformer {
  onChunk(chunk: Buffer, endOfStream: boolean): Buffer | void;
}

/** One per provider wire API (src/providers/<api>/): how to call it and how to read its answers. */
export interface ProviderAdapter {
  /** Edits ctx.upstream (path, credential, body) so the request speaks this provider's API. */
  prepareRequest(ctx: RequestContext, target: UpstreamTarget): void;
  /** Reads usage from the response into ctx.usage and rewrites what the client must not see. */
  responseTransformer(ctx: RequestContext): ResponseTransformer | null;
}
