import { createRequire } from 'node:module';
import type { Ajv, Options, ValidateFunction } from 'ajv';
import type { CascadeConfig, CascadeSignal } from '../config/types.ts';

/**
 * Cascades: a model's targets in priority order are the steps, cheapest first. The upstream filter reads each
 * step's buffered answer (src/upstream/attempt-handler.ts) and, when it shows a declared signal, turns the answer
 * into a 503 before it leaves the filter: Envoy's router then discards it and moves to the next step, exactly as for
 * a failed provider, while no byte has reached the client. Streams are not escalated (their first bytes are the
 * client's at once): a streamed request gets the first step's answer.
 *
 * Signals:
 *  - refusal: the answer is a refusal (OpenAI's `message.refusal`, finish_reason `content_filter`, or a content that
 *    opens like one: "I'm sorry", "I can't", "I am unable"…);
 *  - json_schema: the request asked for `response_format: json_schema` and the content is not JSON valid for it;
 *  - logprob: the answer carries token logprobs (the client asked for them) and their mean is below
 *    `min_mean_logprob` (a model unsure of its answer);
 *  - validator: the operator's webhook, POST {"model", "content"}, answered {"pass": false}; an error or no answer
 *    within its timeout delivers the answer (a validator outage must not double every request's cost).
 */
const REFUSAL_OPENING = /^\s*(?:I['’]m sorry|I am sorry|Sorry, (?:but )?I|I can(?:['’]|no)t|I cannot|I['’]m (?:not able|unable)|I am (?:not able|unable)|I won['’]t)\b/i;

let ajv: Ajv | null = null;
/** Ajv only once a cascade checks a schema: the fixed schemas are generated ahead of time (validation/precompiled.ts). */
function schemaCompiler(): Ajv {
  if (!ajv) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as { Ajv: new (options: Options) => Ajv };
    ajv = new AjvClass({ allErrors: false, strict: false });
  }
  return ajv;
}
/** Compiled schemas by their JSON text: clients send the same few schemas over and over. */
const compiled = new Map<string, ValidateFunction | null>();
const MAX_SCHEMAS = 256;

function validatorFor(schema: unknown): ValidateFunction | null {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    try {
      validate = schemaCompiler().compile(schema as object);
    } catch {
      // A schema Ajv cannot compile is not a signal against the answer.
      validate = null;
    }
    if (compiled.size >= MAX_SCHEMAS) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, validate);
  }
  return validate;
}

/** The JSON schema a chat request asks its answer to follow, or null. */
export function requestedSchema(body: Readonly<Record<string, unknown>>): unknown {
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  return format?.type === 'json_schema' && format.json_schema?.schema && typeof format.json_schema.schema === 'object' ? format.json_schema.schema : null;
}

/** Why this answer (an OpenAI chat completion, JSON) must escalate, or null to deliver it. */
export function escalationReason(answer: Buffer, signals: readonly CascadeSignal[], schema: unknown, minMeanLogprob?: number): CascadeSignal | null {
  let completion: { choices?: Array<{ finish_reason?: unknown; message?: { content?: unknown; refusal?: unknown }; logprobs?: { content?: Array<{ logprob?: unknown }> | null } | null }> };
  try {
    completion = JSON.parse(answer.toString('utf8')) as typeof completion;
  } catch {
    return null;
  }
  const choice = completion.choices?.[0];
  if (!choice) return null;
  const content = typeof choice.message?.content === 'string' ? choice.message.content : '';
  if (signals.includes('refusal')) {
    if ((typeof choice.message?.refusal === 'string' && choice.message.refusal !== '') || choice.finish_reason === 'content_filter' || REFUSAL_OPENING.test(content)) return 'refusal';
  }
  if (signals.includes('json_schema') && schema !== null && choice.finish_reason !== 'tool_calls') {
    const validate = validatorFor(schema);
    if (validate) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(content);
      } catch {
        return 'json_schema';
      }
      if (!validate(parsed)) return 'json_schema';
    }
  }
  const tokens = choice.logprobs?.content;
  if (signals.includes('logprob') && minMeanLogprob !== undefined && Array.isArray(tokens) && tokens.length > 0) {
    let sum = 0;
    for (const token of tokens) sum += typeof token.logprob === 'number' ? token.logprob : 0;
    if (sum / tokens.length < minMeanLogprob) return 'logprob';
  }
  return null;
}

/** The text of an answer's first choice (null when it is not a chat completion with text). */
export function answerContent(answer: Buffer): string | null {
  try {
    const content = (JSON.parse(answer.toString('utf8')) as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
    return typeof content === 'string' ? content : null;
  } catch {
    return null;
  }
}

/** Whether the cascade's validator rejects this answer; false when it fails or does not answer in time. */
export async function validatorRejects(validator: NonNullable<CascadeConfig['validator']>, model: string, content: string): Promise<boolean> {
  try {
    const response = await fetch(validator.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, content }),
      signal: AbortSignal.timeout(validator.timeout_ms),
    });
    if (!response.ok) return false;
    const verdict = (await response.json()) as { pass?: unknown };
    return verdict.pass === false;
  } catch {
    return false;
  }
}
