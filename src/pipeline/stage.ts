import type { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from './context.ts';

/** A successful answer given by the gateway itself (e.g. GET /v1/models, later a cache hit). */
export interface DirectAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A hook either lets the request continue (after editing ctx) or answers it right away. */
export type StageResult = void | { respond: GatewayError | DirectAnswer };

/**
 * A stage does one job and implements only the hooks of the phases it cares about. Stages never touch protobuf:
 * they read and edit the RequestContext; the runner turns the result into ext_proc messages.
 */
export interface Stage {
  readonly name: string;
  /** Request headers are known (auth, kill switches). */
  onRequestHeaders?(ctx: RequestContext): StageResult | Promise<StageResult>;
  /** The whole request is known: body parsed (null for body-less requests such as GET /v1/models). */
  onRequest?(ctx: RequestContext): StageResult | Promise<StageResult>;
  /**
   * The response status is known. Only when Envoy sends the response headers (see `processingModeOverride`) may a
   * hook still replace the whole response with an answer of its own (a stale cache entry for a failed provider chain).
   */
  onResponseHeaders?(ctx: RequestContext): void | { respond: DirectAnswer };
  /**
   * A piece of the response body: the whole body for JSON, a network chunk for SSE. Returning a Buffer replaces the
   * chunk (an empty one drops it); the next stage sees the replacement.
   */
  onResponseChunk?(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): Buffer | void;
  /**
   * An answer the gateway gives itself (a cache hit, a stale or default answer) is about to leave: a stage may
   * replace it (the Responses dialect renders chat answers as Responses). Every stage's hook runs, in order.
   */
  onDirectAnswer?(ctx: RequestContext, answer: DirectAnswer): DirectAnswer | void;
  /** Always runs once per request, also after rejections and cut streams, so nothing is left unsettled. */
  onResponseEnd?(ctx: RequestContext): void | Promise<void>;
}
