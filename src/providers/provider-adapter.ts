import type { ProviderConfig } from '../config/types.ts';
import type { Usage } from '../pipeline/context.ts';

/** The provider endpoint one attempt goes to, as chosen by the route (HCM filter) or by Envoy (upstream filter). */
export interface TranslationTarget {
  /** The provider's name in config (e.g. `anthropic`, `azure-eu`). */
  providerName: string;
  provider: ProviderConfig;
  /** Path prefix of the provider's base URL, e.g. `/v1` (may be empty). */
  basePath: string;
  /** The model name the provider knows (after alias resolution). */
  upstreamModel: string;
  /** The provider credential, or null for providers that need none (e.g. a local vLLM). */
  credential: string | null;
}

/** The OpenAI-shaped request as validated by the gateway, to be sent to one provider. */
export interface TranslateRequestInput {
  endpoint: 'chat' | 'embeddings';
  /** The validated OpenAI request body. Never mutated: adapters build a new body. */
  body: Readonly<Record<string, unknown>>;
  /** The client asked for an SSE stream. */
  stream: boolean;
  target: TranslationTarget;
  /**
   * Set when the client called /v1/responses: `body` is its chat form, and an adapter whose provider speaks the
   * Responses API natively (`speaksResponses`) sends it in that dialect instead. `metadata` is the client's (the chat
   * form has no place for it).
   */
  responses?: { metadata: Record<string, string> };
  /**
   * A /v1/messages client's Anthropic-only fields (src/messages/native-fields.ts), taken off `body`: an Anthropic
   * provider gets them back on the translated request, Gemini maps `top_k`, others have refused or ignore them.
   */
  messagesFields?: Readonly<Record<string, unknown>>;
}

/** What goes on the wire to the provider: Envoy applies it as header and body mutations. */
export interface OutgoingRequest {
  /** Full request path including the query string (e.g. `/v1/messages`, `/openai/deployments/x/chat/completions?api-version=…`). */
  path: string;
  /** Headers to set (lower-case names), e.g. the credential header. */
  headers: Record<string, string>;
  /** Headers to remove (e.g. `authorization` when the provider takes its key elsewhere). */
  removeHeaders: string[];
  /** The body for the provider; serialised as JSON by the caller. */
  body: Record<string, unknown>;
}

/** What the response translator needs to know about the exchange. */
export interface ResponseInfo {
  endpoint: 'chat' | 'embeddings';
  /** The client asked for an SSE stream. */
  stream: boolean;
  /** The provider's HTTP status. */
  status: number;
  /** The client itself asked for `stream_options.include_usage` (else a usage chunk must not reach it). */
  clientWantsUsage: boolean;
  /** The gateway request id, usable as a completion id when the provider gives none. */
  requestId: string;
  /** Unix seconds, for `created` when the provider gives none. */
  createdAt: number;
  /** The model the provider was asked for (the answer's `model` when the provider omits it). */
  upstreamModel: string;
  /**
   * The client's OpenAI request body as validated (before translation), for answers that must echo what the client
   * asked and the provider does not repeat (Gemini embeddings: `encoding_format`, and the input for a token estimate).
   */
  request?: Readonly<Record<string, unknown>>;
  /** The provider was sent the Responses dialect (see TranslateRequestInput.responses) and answers in it. */
  responsesDialect?: boolean;
  /**
   * The client speaks Anthropic's Messages API: Anthropic's thinking blocks ride in the chat form (`reasoning_content`
   * and `thinking_blocks`) for the Messages dialect to give back. Otherwise the thinking (reasoning_effort) is dropped.
   */
  thinkingBlocks?: boolean;
}

/**
 * Turns one provider response, piece by piece, into the OpenAI wire format. `onChunk` gets the body as it arrives
 * (network chunks, in order; the last call has endOfStream=true, possibly with an empty chunk). It returns the bytes
 * for the client in place of the chunk (an empty Buffer holds them back, e.g. while a JSON body is incomplete), or
 * nothing to pass the chunk through unchanged.
 *
 * Non-200 statuses: the provider's error body becomes `{"error":{"message","type","code","param"}}` with the
 * provider's message kept (the status itself is not changed).
 * Streams: a stream that ends before the provider's own end marker gets an OpenAI-shaped error event appended
 * (`streamTruncatedEvent()`), never a clean end, and `truncated` becomes true.
 */
export interface ResponseTranslator {
  onChunk(chunk: Buffer, endOfStream: boolean): Buffer | void;
  /** Usage as reported by the provider, once known (final chunk / JSON body); null if it never came. */
  readonly usage: Usage | null;
  /** The stream ended before the provider's end marker. */
  readonly truncated: boolean;
  /** Each choice's OpenAI `finish_reason` seen so far, by choice index (empty: none ended, or an error answer). */
  readonly finishReasons: readonly string[];
  /**
   * Why an Anthropic provider stopped, in its own terms, once known: `finish_reason` cannot say `stop_sequence` (nor
   * which sequence), `pause_turn` or `refusal`, and a /v1/messages client must get them back (absent: other providers).
   */
  readonly anthropicStop?: AnthropicStop | null;
}

export interface AnthropicStop {
  reason: string;
  sequence: string | null;
}

/** One per provider wire API (src/providers/<api>/): how to call it and how to read its answers. */
export interface ProviderAdapter {
  translateRequest(input: TranslateRequestInput): OutgoingRequest;
  translateResponse(info: ResponseInfo): ResponseTranslator;
  /**
   * The retry hint of a 429/503 body, in whole seconds, for providers that give it only there (Gemini's
   * `RetryInfo.retryDelay`; the others send `Retry-After` themselves and Envoy passes it on). Its presence makes
   * the provider's clusters read such error bodies per attempt (src/upstream/retry-hint.ts), so the client gets
   * `Retry-After`.
   */
  retryAfterFromBody?(body: Buffer): number | null;
  /**
   * The provider may give a 429/503's retry hint only as `retry-after-ms` (OpenAI-style APIs): its clusters add
   * `Retry-After` in seconds from it (src/envoy/retry-after-ms.ts).
   */
  retryAfterInMs?: boolean;
  /** Whether this provider takes /v1/responses requests in the Responses dialect (absent: never; chat is used). */
  speaksResponses?(provider: ProviderConfig): boolean;
  /**
   * For a provider that speaks Anthropic's Messages API natively: a /v1/messages client's own body, sent as is
   * apart from the model (absent: the chat form is translated like any chat request). Answers come back in the
   * provider's format, which translateResponse reads as usual.
   */
  passthroughMessages?(body: Readonly<Record<string, unknown>>, target: TranslationTarget): OutgoingRequest;
  /**
   * For a provider with its own prompt counting in Anthropic's form (`{"input_tokens": N}` back): the request for
   * POST /v1/messages/count_tokens (absent: the gateway estimates the count itself). The answer is not a generation:
   * translateResponse never sees it.
   */
  countTokens?(input: CountTokensInput): OutgoingRequest;
  /**
   * Reads a count answer into Anthropic's `{"input_tokens": N}` (its errors into OpenAI's shape, as translateResponse
   * does). Absent: the provider answers in Anthropic's own form, which goes back as sent.
   */
  countTokensResponse?(info: ResponseInfo): ResponseTranslator;
}

export interface CountTokensInput {
  /** The prompt in its chat form, as the stages left it (redacted when policy said so). */
  body: Readonly<Record<string, unknown>>;
  /** The client's own count_tokens body when no stage changed the request (it may go as is), else null. */
  original: Readonly<Record<string, unknown>> | null;
  /** The client's Anthropic-only fields (thinking, output_config…), taken off `body` (see TranslateRequestInput). */
  messagesFields?: Readonly<Record<string, unknown>>;
  target: TranslationTarget;
}
