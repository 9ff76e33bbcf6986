import { Ajv, type ValidateFunction } from 'ajv';
import type { CascadeSignal } from '../config/types.ts';

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
 *  - json_schema: the request asked for `response_format: json_schema` and the content is not JSON valid for it.
 */
const REFUSAL_OPENING = /^\s*(?:I['’]m sorry|I am sorry|Sorry, (?:but )?I|I can(?:['’]|no)t|I cannot|I['’]m (?:not able|unable)|I am (?:not able|unable)|I won['’]t)\b/i;

const ajv = new Ajv({ allErrors: false, strict: false });
/** Compiled schemas by their JSON text: clients send the same few schemas over and over. */
const compiled = new Map<string, ValidateFunction | null>();
const MAX_SCHEMAS = 256;

function validatorFor(schema: unknown): ValidateFunction | null {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    try {
      validate = ajv.compile(schema as object);
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
export function escalationReason(answer: Buffer, signals: readonly CascadeSignal[], schema: unknown): CascadeSignal | null {
  let completion: { choices?: Array<{ finish_reason?: unknown; message?: { content?: unknown; refusal?: unknown } }> };
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
  return null;
}
