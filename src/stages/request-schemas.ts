import type { SchemaSpec } from '../validation/precompiled.ts';
/**
 * JSON Schemas of the OpenAI request bodies Tollgate accepts. They check what the gateway relies on and the types
 * of well-known fields; fields they do not name pass through untouched (new OpenAI parameters keep working, and
 * the provider remains the judge of what it supports).
 */
/** Counts and sizes: positive, and exact in JSON numbers (a larger one would be rounded before anyone checks it). */
const positiveInt = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
/** Optional fields OpenAI also accepts as null. */
const orNull = (type: string) => ({ type: [type, 'null'] }) as const;

const content = {
  anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'object', required: ['type'] } }, { type: 'null' }],
} as const;

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content,
    name: { type: 'string' },
    tool_calls: { type: ['array', 'null'], items: { type: 'object' } },
    tool_call_id: { type: 'string' },
    refusal: orNull('string'),
    function_call: orNull('object'),
  },
  allOf: [
    // Content is required (and not null) but for an assistant turn that calls tools or a function.
    { if: { properties: { role: { const: 'tool' } } }, then: { required: ['tool_call_id', 'content'], properties: { content: { type: ['string', 'array'] } } } },
    { if: { properties: { role: { enum: ['system', 'developer', 'user'] } } }, then: { required: ['content'], properties: { content: { type: ['string', 'array'] } } } },
    {
      if: { properties: { role: { const: 'assistant' } }, not: { anyOf: [{ required: ['tool_calls'] }, { required: ['function_call'] }] } },
      then: { required: ['content'] },
    },
    // Fields only an assistant message (or a tool result) may carry.
    { if: { properties: { role: { not: { const: 'assistant' } } } }, then: { not: { anyOf: [{ required: ['refusal'] }, { required: ['function_call'] }, { required: ['tool_calls'] }] } } },
    { if: { properties: { role: { not: { const: 'tool' } } } }, then: { not: { required: ['tool_call_id'] } } },
  ],
} as const;

export const chatCompletionSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: { type: 'array', minItems: 1, items: message },
    stream: { type: 'boolean' },
    stream_options: { type: ['object', 'null'], properties: { include_usage: { type: 'boolean' } } },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 128 },
    max_tokens: positiveInt,
    max_completion_tokens: positiveInt,
    presence_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
    frequency_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
    seed: { type: ['integer', 'null'], minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    logprobs: orNull('boolean'),
    top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
    logit_bias: { type: ['object', 'null'], additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
    parallel_tool_calls: orNull('boolean'),
    store: orNull('boolean'),
    service_tier: { enum: ['auto', 'default', 'flex', 'scale', 'priority', null] },
    reasoning_effort: orNull('string'),
    modalities: { type: ['array', 'null'], items: { type: 'string' } },
    audio: orNull('object'),
    prediction: orNull('object'),
    // OpenAI: up to 16 pairs of strings.
    metadata: { type: ['object', 'null'], maxProperties: 16, additionalProperties: { type: 'string', maxLength: 512 } },
    stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }, { type: 'null' }] },
    user: { type: 'string' },
    tools: { type: 'array', minItems: 1, items: { type: 'object', required: ['type'] } },
    tool_choice: { anyOf: [{ enum: ['none', 'auto', 'required'] }, { type: 'object', required: ['type'] }] },
    response_format: { type: 'object', required: ['type'] },
    // Parameters of the embeddings endpoint: a provider rejects them on chat, so the gateway does first.
    dimensions: false,
    encoding_format: false,
    input: false,
  },
  // OpenAI: top_logprobs only with logprobs on.
  if: { required: ['top_logprobs'], properties: { top_logprobs: { type: 'integer' } } },
  then: { required: ['logprobs'], properties: { logprobs: { const: true } } },
} as const;

export const embeddingsSchema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, maxItems: 2048, items: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] } },
      ],
    },
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: positiveInt,
    user: { type: 'string' },
  },
} as const;


/** POST /v1/feedback: a score for one answer, by the request id Tollgate returned (x-tollgate-request-id). */
export const feedbackSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'score'],
  properties: {
    request_id: { type: 'string', minLength: 1, maxLength: 200 },
    /** -1 (bad) … 1 (good); thumbs up/down are 1 and -1. */
    score: { type: 'number', minimum: -1, maximum: 1 },
  },
} as const;

const REQUEST_OPTIONS = { allErrors: false, strict: false } as const;
export const CHAT_SCHEMA_SPEC: SchemaSpec = { name: 'chat-request', schema: chatCompletionSchema, options: REQUEST_OPTIONS };
export const EMBEDDINGS_SCHEMA_SPEC: SchemaSpec = { name: 'embeddings-request', schema: embeddingsSchema, options: REQUEST_OPTIONS };
export const FEEDBACK_SCHEMA_SPEC: SchemaSpec = { name: 'feedback-request', schema: feedbackSchema, options: REQUEST_OPTIONS };
/** Their validators are generated ahead of time (validation/precompiled.ts). */
export const REQUEST_SCHEMA_SPECS: readonly SchemaSpec[] = [CHAT_SCHEMA_SPEC, EMBEDDINGS_SCHEMA_SPEC, FEEDBACK_SCHEMA_SPEC];
