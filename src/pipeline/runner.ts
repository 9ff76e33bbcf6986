import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errors } from '../errors/errors.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { renderGatewayError, toGatewayError } from '../errors/render.ts';
import { dialectOfPath } from '../messages/paths.ts';
import { UpstreamEdits, type RequestContext } from './context.ts';
import { DIALECT_METADATA_KEY, REQUEST_ID_HEADER, requestIdHeaders } from '../envoy/response-headers.ts';
import { checkJsonLimits, DEFAULT_JSON_LIMITS, type JsonLimits } from './json-limits.ts';
import { ANSWERING_MODEL_ATTRIBUTE, ANSWERING_PROVIDER_ATTRIBUTE, ATTEMPT_COUNT_ATTRIBUTE } from '../extproc/attributes.ts';
import type { Attributes, HeaderEdits, PhaseEvent, PhaseReply, Phase, StreamHandler, StreamHandlerFactory, VerifiedJwt } from './phases.ts';
import type { DirectAnswer, Stage, StageResult } from './stage.ts';
import type { RoundTrip } from '../store/round-trip.ts';
import { SPAN_STATUS, type Tracing } from '../observability/tracing.ts';
import { endRequestSpan } from '../observability/request-span.ts';
import { TRACE_ID_HEADER } from '../envoy/response-headers.ts';

export interface PipelineOptions {
  stages: Stage[];
  logger: Logger;
  now: () => number;
  /** A request's collector of store commands for one round trip per phase; absent without a Redis store. */
  newRoundTrip?: () => RoundTrip;
  /** Bounds on the nesting and size of JSON bodies (config `requests`), read per request so a reload applies. */
  jsonLimits?: () => JsonLimits;
  /**
   * Envoy sends the request body right behind the headers without waiting for their reply
   * (`send_body_without_waiting_for_header_response`, extproc.eager_request_body): the headers' reply is held until
   * the body is in, and both leave in one write. One ext_proc round trip per request less.
   */
  eagerRequestBody?: boolean;
  /** Spans for the request and each stage hook (config `tracing`); absent when tracing is off, which costs nothing. */
  tracing?: Tracing;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a JSON request body; bad bytes, bad JSON and JSON over the limits are the client's fault (400), never a
 * crash. The limits are checked here, before any stage could stringify, clone or validate the body recursively.
 */
export function decodeJsonBody(raw: Buffer, limits?: JsonLimits): Record<string, unknown> {
  let text: string;
  try {
    text = STRICT_UTF8.decode(raw);
  } catch {
    throw errors.badRequest('The request body is not valid UTF-8.', null, 'invalid_encoding');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw errors.badRequest(`We could not parse the JSON body of your request: ${(error as Error).message}`, null, 'invalid_json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw errors.badRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  if (limits) {
    const overLimit = checkJsonLimits(parsed, limits);
    if (overLimit) throw overLimit;
  }
  return parsed as Record<string, unknown>;
}

/** Runs the configured stages for one request and answers each ext_proc phase. */
class RequestPipeline implements StreamHandler {
  private ctx: RequestContext | null = null;
  private ended = false;
  private readonly options: PipelineOptions;
  private readonly traceparent: string | undefined;

  constructor(options: PipelineOptions, traceparent: string | undefined) {
    this.options = options;
    this.traceparent = traceparent;
  }

  async handle(event: PhaseEvent): Promise<PhaseReply> {
    try {
      switch (event.phase) {
        case 'request_headers':
          return await this.onRequestHeaders(event.headers, event.endOfStream, event.attributes, event.verifiedJwt);
        case 'request_body':
          return await this.onRequestBody(event.body);
        case 'response_headers':
          return this.onResponseHeaders(event.headers, event.endOfStream, event.attributes);
        case 'response_body':
          return this.onResponseBody(event.body, event.endOfStream, event.status, event.attributes);
      }
    } catch (error) {
      const gatewayError = toGatewayError(error);
      if (gatewayError.status >= 500) this.log().error({ err: error, phase: event.phase }, 'stage failed');
      // Once the response has started, an error can no longer become an immediate response.
      if (event.phase === 'response_headers' || event.phase === 'response_body') {
        return { kind: 'continue', phase: event.phase };
      }
      return this.reject(gatewayError);
    }
  }

  close(complete: boolean): void {
    const ctx = this.ctx;
    if (!ctx || this.ended) return;
    if (!complete && ctx.outcome === 'pending') ctx.outcome = 'aborted';
    void this.end();
  }

  private log(): Logger {
    return this.ctx?.log ?? this.options.logger;
  }

  private async onRequestHeaders(
    headers: Map<string, string>, endOfStream: boolean, attributes: Attributes | undefined, verifiedJwt: VerifiedJwt | undefined,
  ): Promise<PhaseReply> {
    const { logger, now } = this.options;
    const rawPath = headers.get(':path') ?? '/';
    const queryAt = rawPath.indexOf('?');
    const requestId = headers.get('x-request-id') || randomUUID();
    let log: Logger | null = null;
    const startedAt = now();
    const trace = this.options.tracing?.startRequest(this.traceparent) ?? null;
    this.ctx = {
      requestId,
      startedAt,
      now,
      method: headers.get(':method') ?? 'GET',
      path: queryAt === -1 ? rawPath : rawPath.slice(0, queryAt),
      requestHeaders: headers,
      sourceAddress: sourceAddressOf(attributes),
      verifiedJwt: verifiedJwt ?? null,
      get log() {
        log ??= logger.child({ request_id: requestId });
        return log;
      },
      endpoint: null,
      // Known from the path alone, so that even an authentication failure answers in the client's dialect.
      dialect: dialectOfPath(queryAt === -1 ? rawPath : rawPath.slice(0, queryAt)),
      responses: null,
      messages: null,
      tenant: null,
      body: null,
      model: null,
      provider: null,
      upstreamModel: null,
      routing: { alias: null, candidates: [], excludedProviders: new Set(), allowedRegions: null, reasons: [] },
      attempts: [],
      attemptCount: null,
      variant: null,
      bodyBytes: 0,
      stream: false,
      upstream: new UpstreamEdits(),
      responseHeaders: new Map(),
      response: { status: null, streaming: false, bytes: 0 },
      usage: null,
      cachePolicy: 'default',
      cacheStatus: null,
      cacheSavedUsage: null,
      processingModeOverride: null,
      cost: null,
      error: null,
      outcome: 'pending',
      roundTrip: this.options.newRoundTrip?.() ?? null,
      trace,
    };
    if (trace) this.ctx.responseHeaders.set(TRACE_ID_HEADER, trace.traceId);
    const answer = await this.runHook('onRequestHeaders');
    if (answer) return this.answer(answer);
    if (!endOfStream) {
      if (this.options.eagerRequestBody) return { kind: 'deferred' };
      const modeOverride = this.ctx.processingModeOverride;
      return { kind: 'continue', phase: 'request_headers', ...(modeOverride ? { modeOverride } : {}) };
    }
    return this.finishRequest('request_headers');
  }

  private async onRequestBody(raw: Buffer): Promise<PhaseReply> {
    const ctx = this.requireCtx();
    // An immediate answer to the headers already ended the request; Envoy had sent the body anyway.
    if (ctx.outcome !== 'pending') return { kind: 'deferred' };
    ctx.bodyBytes = raw.length;
    if (!this.options.eagerRequestBody) {
      ctx.body = decodeJsonBody(raw, this.options.jsonLimits?.() ?? DEFAULT_JSON_LIMITS);
      return this.finishRequest('request_body');
    }
    let reply: PhaseReply;
    try {
      ctx.body = decodeJsonBody(raw, this.options.jsonLimits?.() ?? DEFAULT_JSON_LIMITS);
      reply = await this.finishRequest('request_body');
    } catch (error) {
      reply = this.reject(toGatewayError(error));
    }
    if (reply.kind !== 'continue') return reply;
    // The held headers' reply carries what only a headers reply may (header edits, route re-selection); the body's
    // replaces the streamed chunk. Envoy drops content-length for streamed bodies (setting it back has no effect,
    // tested), so providers get the body chunked.
    const { headers, body, clearRouteCache, responseHeaders } = reply;
    const headerEdits = { set: (headers?.set ?? []).filter(([name]) => name !== 'content-length'), remove: headers?.remove ?? [] };
    return {
      kind: 'sequence',
      replies: [
        { kind: 'continue', phase: 'request_headers', headers: headerEdits, ...(clearRouteCache ? { clearRouteCache } : {}), ...(responseHeaders ? { responseHeaders } : {}) },
        { kind: 'continue', phase: 'request_body', ...(body ? { body } : {}) },
      ],
    };
  }

  /** Runs onRequest of every stage, then sends the accumulated upstream edits. */
  private async finishRequest(phase: Phase): Promise<PhaseReply> {
    const ctx = this.requireCtx();
    const answer = await this.runHook('onRequest');
    if (answer) return this.answer(answer);
    const edits = ctx.upstream;
    const headers: HeaderEdits = { set: [...edits.setHeaders], remove: [...edits.removeHeaders] };
    if (edits.path) headers.set.push([':path', edits.path]);
    let body: Buffer | undefined;
    if (edits.bodyChanged && ctx.body) {
      body = Buffer.from(JSON.stringify(ctx.body));
      // With a BUFFERED body and headers sent, Envoy requires a matching content-length for a changed body.
      headers.set.push(['content-length', String(body.length)]);
    }
    return {
      kind: 'continue', phase, headers, ...(body ? { body } : {}), clearRouteCache: edits.clearRouteCache,
      // The request id travels as metadata too: Envoy strips x-request-id from the request before it reaches a
      // provider, so the route reads the client's x-tollgate-request-id (and each attempt its id) from there.
      // The dialect rides along for Envoy's local reply mappers (see DIALECT_METADATA_KEY).
      responseHeaders: [...ctx.responseHeaders, [REQUEST_ID_HEADER, ctx.requestId], [DIALECT_METADATA_KEY, ctx.dialect]],
    };
  }

  /**
   * Only for requests whose stages asked for the response headers (ctx.processingModeOverride); the filter skips them
   * otherwise. Here a stage may still replace the whole response (a stale cache entry for a failed chain).
   */
  private onResponseHeaders(headers: Map<string, string>, endOfStream: boolean, attributes: Attributes | undefined): PhaseReply {
    this.noteAnsweringProvider(attributes);
    const replacement = this.startResponse(Number(headers.get(':status') ?? 0));
    if (replacement) return this.answer(replacement);
    if (endOfStream) this.completeResponse();
    return { kind: 'continue', phase: 'response_headers' };
  }

  /**
   * The response starts: known from its headers, or from the first body chunk and its response.code attribute.
   * An SSE stream is what the client asked for, answered with 200; anything else (errors included) is JSON.
   */
  private startResponse(status: number): DirectAnswer | null {
    const ctx = this.requireCtx();
    ctx.response.status = status;
    ctx.response.streaming = ctx.stream && status === 200;
    let replacement: DirectAnswer | null = null;
    for (const stage of this.options.stages) {
      const result = stage.onResponseHeaders?.(ctx);
      if (result?.respond && !replacement) replacement = result.respond;
    }
    return replacement;
  }

  /** Which provider answered: Envoy names the endpoint of the final attempt (a chain may have fallen back). */
  private noteAnsweringProvider(attributes: Attributes | undefined): void {
    const ctx = this.requireCtx();
    const count = Number(attributes?.[ATTEMPT_COUNT_ATTRIBUTE]);
    if (count > 0) ctx.attemptCount = count;
    const provider = attributes?.[ANSWERING_PROVIDER_ATTRIBUTE];
    if (typeof provider === 'string' && provider) {
      ctx.provider = provider;
      const model = attributes?.[ANSWERING_MODEL_ATTRIBUTE];
      if (typeof model === 'string' && model) ctx.upstreamModel = model;
    }
  }

  private onResponseBody(chunk: Buffer, endOfStream: boolean, status: number | undefined, attributes: Attributes | undefined): PhaseReply {
    const ctx = this.requireCtx();
    if (ctx.response.status === null) {
      this.noteAnsweringProvider(attributes);
      // Too late to replace the response here: its headers already left Envoy.
      this.startResponse(status ?? 0);
    }
    ctx.response.bytes += chunk.length;
    const at = ctx.now();
    ctx.response.firstChunkAt ??= at;
    ctx.response.lastChunkAt = at;
    ctx.response.chunks = (ctx.response.chunks ?? 0) + 1;
    let current = chunk;
    let replaced = false;
    for (const stage of this.options.stages) {
      const next = stage.onResponseChunk?.(ctx, current, endOfStream);
      if (next) {
        current = next;
        replaced = true;
      }
    }
    if (endOfStream) this.completeResponse();
    return replaced ? { kind: 'continue', phase: 'response_body', body: current } : { kind: 'continue', phase: 'response_body' };
  }

  private completeResponse(): void {
    const ctx = this.requireCtx();
    if (ctx.outcome === 'pending') ctx.outcome = 'completed';
    // The reply goes out first; settlement and logging run right after, off the client's critical path.
    queueMicrotask(() => void this.end());
  }

  private answer(given: GatewayError | DirectAnswer): PhaseReply {
    if (given instanceof GatewayError) return this.reject(given);
    const ctx = this.requireCtx();
    let answer = given;
    for (const stage of this.options.stages) answer = stage.onDirectAnswer?.(ctx, answer) ?? answer;
    ctx.outcome = 'completed';
    ctx.response.status = answer.status;
    ctx.response.bytes = Buffer.byteLength(answer.body);
    queueMicrotask(() => void this.end());
    return {
      kind: 'immediate',
      status: answer.status,
      headers: [...ctx.responseHeaders, ...Object.entries(answer.headers), ...requestIdHeaders(ctx.requestId)],
      body: answer.body,
      details: 'tollgate_direct',
    };
  }

  private reject(error: GatewayError): PhaseReply {
    const ctx = this.ctx;
    const reply = renderGatewayError(error, ctx ? [...ctx.responseHeaders, ...requestIdHeaders(ctx.requestId)] : [], ctx?.dialect);
    if (ctx) {
      ctx.error = error;
      ctx.outcome = 'rejected';
      ctx.response.status = error.status;
      queueMicrotask(() => void this.end());
    }
    return reply;
  }

  private async runHook(hook: 'onRequestHeaders' | 'onRequest'): Promise<GatewayError | DirectAnswer | null> {
    const ctx = this.requireCtx();
    for (const stage of this.options.stages) {
      const fn = stage[hook];
      if (!fn) continue;
      const span = ctx.trace?.stage(stage.name, hook);
      let returned: ReturnType<typeof fn>;
      try {
        returned = fn.call(stage, ctx);
      } catch (error) {
        span?.setStatus(SPAN_STATUS.error, 'exception');
        span?.end();
        throw error;
      }
      // Most hooks are synchronous: awaiting only real promises saves a microtask turn per stage per request.
      let result: StageResult;
      if (returned instanceof Promise) result = await (span ? returned.finally(() => span.end()) : returned);
      else {
        result = returned;
        span?.end();
      }
      if (result?.respond) return result.respond;
    }
    return null;
  }

  /** onResponseEnd of every stage, exactly once per request, whatever happened. */
  private async end(): Promise<void> {
    if (this.ended || !this.ctx) return;
    this.ended = true;
    const ctx = this.ctx;
    // Nothing the stages send from here is awaited by the client: it may share a batch with other requests.
    ctx.roundTrip?.enterEndPhase();
    for (const stage of this.options.stages) {
      if (!stage.onResponseEnd) continue;
      const span = ctx.trace?.stage(stage.name, 'onResponseEnd');
      try {
        const returned = stage.onResponseEnd(ctx);
        if (returned instanceof Promise) await returned;
      } catch (error) {
        ctx.log.error({ err: error, stage: stage.name }, 'onResponseEnd failed');
      } finally {
        span?.end();
      }
    }
    if (ctx.trace) endRequestSpan(ctx.trace, ctx);
    // Commands no stage sent (e.g. a cache store when no quota settles): they go now, together.
    await ctx.roundTrip?.send();
  }

  private requireCtx(): RequestContext {
    if (!this.ctx) throw new Error('ext_proc message before request headers');
    return this.ctx;
  }
}

export function createPipeline(options: PipelineOptions): StreamHandlerFactory {
  return (traceparent) => new RequestPipeline(options, traceparent);
}

/** The client's IP from Envoy's `source.address` attribute (`ip:port`, `[v6]:port`), or null when not sent. */
function sourceAddressOf(attributes: Attributes | undefined): string | null {
  const raw = attributes?.['source.address'];
  if (typeof raw !== 'string' || raw === '') return null;
  if (raw.startsWith('[')) return raw.slice(1, raw.indexOf(']'));
  const colon = raw.lastIndexOf(':');
  return colon > 0 && raw.indexOf(':') === colon ? raw.slice(0, colon) : raw;
}
