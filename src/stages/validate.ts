import type { ErrorObject } from 'ajv';
import { precompiled, type Validator } from '../validation/precompiled.ts';
import { errors } from '../errors/errors.ts';
import type { Endpoint, RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { CHAT_SCHEMA_SPEC, EMBEDDINGS_SCHEMA_SPEC, FEEDBACK_SCHEMA_SPEC } from './request-schemas.ts';
import { responsesToChat } from '../responses/request.ts';
import { ownerOf, type ResponseStore } from '../responses/response-store.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { countTokensToChat, messagesToChat } from '../messages/request.ts';
import { COUNT_TOKENS_PATH, MESSAGES_PATH } from '../messages/paths.ts';

const ENDPOINTS: Record<string, Endpoint> = {
  'POST /v1/chat/completions': 'chat',
  'POST /v1/embeddings': 'embeddings',
  'GET /v1/models': 'models',
  'POST /v1/feedback': 'feedback',
};

const MODEL_PREFIX = '/v1/models/';
const RESPONSES_PATH = '/v1/responses';

/** Stored responses (GET / DELETE /v1/responses/{id}) need a response store; none is configured. */
const noResponseStore = (method: string, path: string) => new GatewayError({
  status: 404, type: 'invalid_request_error', code: 'response_store_not_configured',
  message: `${method} ${path}: this gateway keeps no responses (no response store is configured), so there is nothing to read or delete.`,
});
const STORED_RESPONSE_PATH = /^\/v1\/responses\/resp_[A-Za-z0-9_-]{1,128}(\/input_items)?$/;

export interface ValidateStageDeps {
  /** The Responses API's response store, when configured (read per request: a config reload may switch it). */
  responseStore?: () => ResponseStore | null;
}

/** `/messages/0/role` → `messages[0].role`, the way OpenAI names a param. */
function paramName(error: ErrorObject): string | null {
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  if (!segments.length) return null;
  return segments.reduce((name, segment) => (/^\d+$/.test(segment) ? `${name}[${segment}]` : name ? `${name}.${segment}` : segment), '');
}

function describe(error: ErrorObject): string {
  const param = paramName(error) ?? 'body';
  switch (error.keyword) {
    case 'required':
      return `Missing required parameter: '${param}'.`;
    case 'type':
      return `Invalid type for '${param}': expected ${String(error.params.type).replace(',', ' or ')}.`;
    case 'enum':
      return `Invalid value for '${param}': must be one of ${(error.params.allowedValues as unknown[]).join(', ')}.`;
    case 'false schema':
      return `Unrecognized request argument supplied: ${param}`;
    case 'const':
      return `Invalid value for '${param}': must be ${JSON.stringify(error.params.allowedValue)} here.`;
    case 'minItems':
      return `Invalid '${param}': empty array. Expected an array with minimum length ${String(error.params.limit)}.`;
    default:
      return `Invalid '${param}': ${error.message ?? 'is invalid'}.`;
  }
}

/**
 * Recognises the endpoint and validates the body against compiled schemas, so malformed requests are answered
 * with a 400 before any provider is called.
 */
export function validateStage(deps: ValidateStageDeps = {}): Stage {
  const validators: Partial<Record<Endpoint, Validator>> = {
    chat: precompiled(CHAT_SCHEMA_SPEC),
    embeddings: precompiled(EMBEDDINGS_SCHEMA_SPEC),
    feedback: precompiled(FEEDBACK_SCHEMA_SPEC),
  };
  return {
    name: 'validate',
    onRequestHeaders(ctx: RequestContext): StageResult {
      const path = ctx.path.replace(/\/+$/, '');
      const endpoint = ENDPOINTS[`${ctx.method} ${path}`];
      if (endpoint) {
        ctx.endpoint = endpoint;
        return;
      }
      // Anthropic's Messages API runs every stage as chat too (the runner already set the dialect from the path).
      if (ctx.method === 'POST' && (path === MESSAGES_PATH || path === COUNT_TOKENS_PATH)) {
        // The version pins the wire format; Anthropic refuses requests without it, and so does Tollgate.
        if (!ctx.requestHeaders.get('anthropic-version')) return { respond: errors.badRequest('anthropic-version: header is required', null, 'missing_header') };
        ctx.endpoint = path === MESSAGES_PATH ? 'chat' : 'count-tokens';
        return;
      }
      // The Responses API runs every stage as chat: its body becomes the chat form in onRequest.
      if (ctx.method === 'POST' && path === RESPONSES_PATH) {
        ctx.endpoint = 'chat';
        ctx.dialect = 'responses';
        return;
      }
      if (path.startsWith(`${RESPONSES_PATH}/`) && (ctx.method === 'GET' || ctx.method === 'DELETE' || ctx.method === 'POST')) {
        if (!deps.responseStore?.()) return { respond: noResponseStore(ctx.method, ctx.path) };
        // GET and DELETE of one stored response, GET of its input items (src/stages/stored-responses.ts).
        if ((ctx.method === 'GET' || (ctx.method === 'DELETE' && !path.endsWith('/input_items'))) && STORED_RESPONSE_PATH.test(path)) {
          ctx.endpoint = 'stored-response';
          return;
        }
      }
      // GET /v1/models/{model}: model names may contain slashes (e.g. meta-llama/Llama-3.1-8B-Instruct).
      if (ctx.method === 'GET' && path.startsWith(MODEL_PREFIX) && path.length > MODEL_PREFIX.length) {
        try {
          ctx.model = decodeURIComponent(path.slice(MODEL_PREFIX.length));
        } catch {
          return { respond: errors.badRequest('The model name in the URL is not valid percent-encoding.', 'model') };
        }
        ctx.endpoint = 'model';
        return;
      }
      return { respond: errors.unknownUrl(ctx.method, ctx.path) };
    },
    onRequest(ctx: RequestContext): StageResult | Promise<StageResult> {
      const validate = ctx.endpoint ? validators[ctx.endpoint === 'count-tokens' ? 'chat' : ctx.endpoint] : undefined;
      if (!validate) return;
      if (!ctx.body) return { respond: errors.badRequest('A JSON request body is required.', null, 'missing_body') };
      if (ctx.dialect === 'messages') {
        const original = ctx.body;
        // The chat form is what the stages read; ctx.upstream.bodyChanged stays false, so the route can tell whether
        // any stage changed the request (if none did, an Anthropic provider gets the client's own body).
        ctx.body = ctx.endpoint === 'count-tokens' ? countTokensToChat(original) : messagesToChat(original);
        ctx.messages = { original };
        return checkBody(ctx, validate);
      }
      if (ctx.dialect !== 'responses') return checkBody(ctx, validate);
      const store = deps.responseStore?.() ?? null;
      const translated = responsesToChat(ctx.body, store !== null);
      const messages = translated.chat.messages as Array<Record<string, unknown>>;
      const instructions = translated.echo.instructions ? messages.slice(0, 1) : [];
      const input = messages.slice(instructions.length);
      const apply = (history: Array<Record<string, unknown>>): StageResult => {
        translated.chat.messages = [...instructions, ...history, ...input];
        ctx.body = translated.chat;
        ctx.responses = { echo: translated.echo, store: translated.store, conversation: [...history, ...input] };
        ctx.upstream.bodyChanged = true;
        return checkBody(ctx, validate);
      };
      const previousId = translated.previousResponseId;
      // Only a follow-up costs a store round trip (and a promise); everything else stays synchronous.
      if (!previousId || !store || !ctx.tenant) return apply([]);
      return store.get(previousId, ownerOf(ctx.tenant)).then((previous) => previous
        ? apply(previous.conversation)
        : { respond: errors.badRequest(`Previous response with id '${previousId}' not found.`, 'previous_response_id', 'previous_response_not_found') });
    },
  };
}

/** The chat-form body against its schema, then what the later stages read from it. */
function checkBody(ctx: RequestContext, validate: Validator): StageResult {
  const body = ctx.body as Record<string, unknown>;
  if (!validate(body)) {
    const first = validate.errors?.[0];
    return { respond: errors.badRequest(first ? describe(first) : 'Invalid request body.', first ? paramName(first) : null) };
  }
  // Feedback carries no model or stream: the schema is all it needs.
  if (ctx.endpoint === 'feedback') return;
  if (body.stream_options != null && body.stream !== true) {
    return {
      respond: errors.badRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options'),
    };
  }
  ctx.model = body.model as string;
  ctx.stream = body.stream === true;
  if (ctx.tenant && typeof body.user === 'string' && !ctx.tenant.user) ctx.tenant.user = body.user;
}
