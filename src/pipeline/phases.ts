/**
 * The neutral vocabulary between the ext_proc layer and the pipeline: what Envoy told us (a PhaseEvent) and what we
 * answer (a PhaseReply). The ext_proc layer turns these into protobuf and back; nothing else touches protobuf.
 */
export type HeaderMap = Map<string, string>;

export type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body';

/** Envoy attributes asked for in the filter config (e.g. response.code, the chosen endpoint's metadata). */
export type Attributes = Record<string, string | number>;

/** A JWT payload that Envoy's jwt_authn filter verified (read from its dynamic metadata), and which provider did. */
export interface VerifiedJwt {
  provider: string;
  claims: Record<string, unknown>;
}

export type PhaseEvent =
  | { phase: 'request_headers'; headers: HeaderMap; endOfStream: boolean; attributes?: Attributes; verifiedJwt?: VerifiedJwt }
  | { phase: 'request_body'; body: Buffer; endOfStream: boolean; attributes?: Attributes }
  | { phase: 'response_headers'; headers: HeaderMap; endOfStream: boolean; attributes?: Attributes }
  /** `status` comes from the response.code attribute when response headers are not sent to Tollgate. */
  | { phase: 'response_body'; body: Buffer; endOfStream: boolean; status?: number; attributes?: Attributes };

/** ext_proc's ProcessingMode (the whole mode: Envoy replaces, not merges, the configured one). */
export interface ProcessingModeOverride {
  request_header_mode: 'SEND' | 'SKIP';
  request_body_mode: 'NONE' | 'BUFFERED' | 'STREAMED';
  request_trailer_mode: 'SEND' | 'SKIP';
  response_header_mode: 'SEND' | 'SKIP';
  response_body_mode: 'NONE' | 'BUFFERED' | 'STREAMED';
  response_trailer_mode: 'SEND' | 'SKIP';
}

export interface HeaderEdits {
  set: Array<[name: string, value: string]>;
  remove: string[];
}

export interface ContinueReply {
  kind: 'continue';
  phase: Phase;
  headers?: HeaderEdits;
  /** Replaces the body (or the streamed chunk) Envoy just sent; an empty buffer drops the chunk. */
  body?: Buffer;
  /** Re-select the route after the headers changed (request phases only). */
  clearRouteCache?: boolean;
  /** Client response headers Envoy adds from dynamic metadata (see src/envoy/response-headers.ts). */
  responseHeaders?: Array<[name: string, value: string]>;
  /** Changes what Envoy sends for the rest of this request (request headers phase only). */
  modeOverride?: ProcessingModeOverride;
}

export interface ImmediateReply {
  kind: 'immediate';
  status: number;
  headers: Array<[name: string, value: string]>;
  body: string;
  /** Envoy's response code details; always starts with `tollgate` (local_reply_config leaves those alone). */
  details: string;
}

/**
 * Nothing yet: the request headers' reply waits for the body (eager request bodies, see PipelineOptions), which
 * Envoy sends without waiting for it; both replies then leave together.
 */
export interface DeferredReply {
  kind: 'deferred';
}

/** Several replies in order, e.g. the held request headers' reply followed by the body's. */
export interface ReplySequence {
  kind: 'sequence';
  replies: Array<ContinueReply | ImmediateReply>;
}

export type PhaseReply = ContinueReply | ImmediateReply | DeferredReply | ReplySequence;

/**
 * Creates the handler of one ext_proc stream. `traceparent` is the stream's W3C trace context from its gRPC
 * metadata (Envoy's span for the ext_proc call, when Envoy traces); absent otherwise.
 */
export type StreamHandlerFactory = (traceparent?: string) => StreamHandler;

/** One per HTTP request (one ext_proc gRPC stream). */
export interface StreamHandler {
  handle(event: PhaseEvent): PhaseReply | Promise<PhaseReply>;
  /** The gRPC stream ended; `complete` is false when it ended before the response did (reset, cut, cancel). */
  close(complete: boolean): void;
}
