import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { errors } from '../errors/errors.ts';
import type { Endpoint, RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import { chatCompletionSchema, embeddingsSchema, feedbackSchema } from './request-schemas.ts';

const ENDPOINTS: Record<string, Endpoint> = {
  'POST /v1/chat/completions': 'chat',
  'POST /v1/embeddings': 'embeddings',
  'GET /v1/models': 'models',
  'POST /v1/feedback': 'feedback',
};

const MODEL_PREFIX = '/v1/models/';

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
export function validateStage(): Stage {
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validators: Partial<Record<Endpoint, ValidateFunction>> = {
    chat: ajv.compile(chatCompletionSchema),
    embeddings: ajv.compile(embeddingsSchema),
    feedback: ajv.compile(feedbackSchema),
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
    onRequest(ctx: RequestContext): StageResult {
      const validate = ctx.endpoint ? validators[ctx.endpoint] : undefined;
      if (!validate) return;
      if (!ctx.body) return { respond: errors.badRequest('A JSON request body is required.', null, 'missing_body') };
      if (!validate(ctx.body)) {
        const first = validate.errors?.[0];
        return { respond: errors.badRequest(first ? describe(first) : 'Invalid request body.', first ? paramName(first) : null) };
      }
      const body = ctx.body;
      if (ctx.endpoint === 'feedback') return;
      if (body.stream_options != null && body.stream !== true) {
        return {
          respond: errors.badRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options'),
        };
      }
      ctx.model = body.model as string;
      ctx.stream = body.stream === true;
      if (ctx.tenant && typeof body.user === 'string' && !ctx.tenant.user) ctx.tenant.user = body.user;
    },
  };
}
