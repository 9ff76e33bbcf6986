import { errors } from '../errors/errors.ts';

/**
 * The top-level /v1/messages fields that have no (or no complete) chat-completions counterpart: Anthropic's own
 * features. The chat form carries them under one marker field (`x_tollgate_messages`) so that
 *  - the exact cache key sees the ones that change the answer (the marker is part of the body it hashes),
 *  - an Anthropic provider that gets the translated form (a stage changed the request) still gets them,
 *  - every other provider either ignores them (advisory: the answer is still a right answer) or refuses the request
 *    with a 400 (the client asked for something only Anthropic can do; ignoring it would hand back a different
 *    kind of answer than it expects).
 * Envoy replays the chat body to every attempt of a fallback chain, so the marker reaches each attempt's translation
 * (src/providers/translate.ts takes it off before any adapter sees the body; it never reaches a provider as is).
 *
 * The list follows the pinned `@anthropic-ai/sdk` MessageCreateParams / MessageCountTokensParams (GA and beta);
 * `top_k` is older API surface that clients still send.
 */
export const MESSAGES_FIELDS_MARKER = 'x_tollgate_messages';

type Json = Record<string, unknown>;

export interface NativeField {
  /** What a non-Anthropic provider does with it: nothing (advisory), or the request is a 400. */
  elsewhere: 'ignore' | 'reject';
  /** Changes the answer: part of the exact cache key (false: a hint about how or where, not what). */
  keyed: boolean;
  /** Anthropic's count_tokens takes it too. */
  count: boolean;
  /** Checks the value's shape (throws a 400 naming the field); the provider stays the judge of the rest. */
  check: (value: unknown, field: string) => void;
  /** When the request must be refused elsewhere only for some values (absent: any value is refused). */
  refusedElsewhere?: (value: unknown) => boolean;
  /** What the 400 elsewhere says (absent: only Anthropic models support the field). */
  refusal?: string;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const invalid = (path: string, message: string) => errors.badRequest(`${path}: ${message}`, path);

const object = (value: unknown, field: string) => { if (!isObject(value)) throw invalid(field, 'Input should be a valid dictionary'); };
const string = (value: unknown, field: string) => { if (typeof value !== 'string') throw invalid(field, 'Input should be a valid string'); };
const list = (value: unknown, field: string) => { if (!Array.isArray(value)) throw invalid(field, 'Input should be a valid list'); };
const oneOf = (...allowed: string[]) => (value: unknown, field: string) => {
  if (typeof value !== 'string' || !allowed.includes(value)) throw invalid(field, `Input should be ${allowed.map((a) => `'${a}'`).join(' or ')}`);
};
const stringOrObject = (value: unknown, field: string) => { if (typeof value !== 'string' && !isObject(value)) throw invalid(field, 'Input should be a valid string or dictionary'); };

/** A structured-output format (`output_config.format`, beta `output_format`): `{type: json_schema, schema}`. */
function checkFormat(value: unknown, path: string): void {
  object(value, path);
  const format = value as Json;
  if (format.type !== 'json_schema') throw invalid(`${path}.type`, "Input should be 'json_schema'");
  if (!isObject(format.schema)) throw invalid(`${path}.schema`, format.schema === undefined ? 'Field required' : 'Input should be a valid dictionary');
}

export const NATIVE_FIELDS: Readonly<Record<string, NativeField>> = {
  // Sampling: Gemini has topK; OpenAI-style APIs have no such parameter (a sampling hint; the answer stays valid).
  top_k: {
    elsewhere: 'ignore', keyed: true, count: false,
    check: (value, field) => { if (!Number.isInteger(value) || (value as number) < 0) throw invalid(field, 'Input should be a valid integer greater than or equal to 0'); },
  },
  // Extended thinking: elsewhere the model answers without Anthropic's visible thinking blocks.
  thinking: { elsewhere: 'ignore', keyed: true, count: true, check: object },
  // `format` is translated to the chat `response_format` (every provider honours that); `effort` only at Anthropic.
  output_config: {
    elsewhere: 'ignore', keyed: true, count: true,
    check: (value, field) => {
      object(value, field);
      const config = value as Json;
      if (config.format !== undefined && config.format !== null) checkFormat(config.format, `${field}.format`);
      if (config.effort !== undefined && config.effort !== null) oneOf('low', 'medium', 'high', 'xhigh', 'max')(config.effort, `${field}.effort`);
    },
  },
  // Beta, deprecated for output_config.format: same translation.
  output_format: { elsewhere: 'ignore', keyed: true, count: true, check: checkFormat },
  // Where and how fast Anthropic runs the request, and its prompt cache: the answer is the same.
  cache_control: { elsewhere: 'ignore', keyed: false, count: true, check: object },
  service_tier: { elsewhere: 'ignore', keyed: false, count: false, check: oneOf('auto', 'standard_only') },
  inference_geo: { elsewhere: 'ignore', keyed: false, count: false, check: string },
  speed: { elsewhere: 'ignore', keyed: false, count: true, check: oneOf('standard', 'fast') },
  // Asks Anthropic for a `diagnostics` block, which the gateway's rendering (from the chat form) does not carry.
  diagnostics: { elsewhere: 'ignore', keyed: false, count: false, check: object },
  // Trims old tool results and thinking from what the model sees; elsewhere the whole conversation goes, a larger
  // but valid prompt (refusing would break Claude Code on every non-Anthropic model).
  context_management: { elsewhere: 'ignore', keyed: true, count: true, check: object },
  // Anthropic's refusal fallbacks and their credit: another provider answers with the model asked for.
  fallbacks: { elsewhere: 'ignore', keyed: true, count: false, check: (value, field) => { if (value !== 'default' && !Array.isArray(value) && !isObject(value)) throw invalid(field, 'Input should be a valid list'); } },
  fallback_credit_token: { elsewhere: 'ignore', keyed: false, count: false, check: stringOrObject },
  // `max_tokens: 0` (only this value rides here): fills Anthropic's prompt cache without an answer; elsewhere
  // there is no such thing, and one token would be an answer the client did not ask for.
  max_tokens: { elsewhere: 'reject', keyed: true, count: false, check: () => undefined, refusal: 'max_tokens 0 (warming the prompt cache) is supported only by Anthropic models' },
  // More stop sequences than the chat form's 4 (OpenAI's limit; the chat `stop` carries up to 4): Anthropic takes
  // them, elsewhere stopping at only some of them would be a different answer.
  stop_sequences: { elsewhere: 'reject', keyed: true, count: false, check: list, refusal: 'more than 4 stop sequences are supported only by Anthropic models' },
  // Only Anthropic can do these: a code-execution container, remote MCP servers it calls, a compaction answer,
  // server-held conversation state.
  container: { elsewhere: 'reject', keyed: true, count: false, check: stringOrObject },
  mcp_servers: { elsewhere: 'reject', keyed: true, count: true, check: list },
  compaction: { elsewhere: 'reject', keyed: true, count: true, check: object },
  thread: { elsewhere: 'reject', keyed: true, count: false, check: object },
  // Billing someone else than the operator's provider account is only possible at Anthropic; `self` is the default.
  billing_policy: {
    elsewhere: 'reject', keyed: false, count: true, check: object,
    refusedElsewhere: (value) => !(isObject(value) && (value.bill_to === undefined || value.bill_to === 'self')),
  },
};

/** The structured-output format the client asked for (output_config.format wins over the beta output_format). */
export function requestedFormat(fields: Readonly<Json>): Json | null {
  const config = fields.output_config;
  if (isObject(config) && isObject(config.format)) return config.format;
  return isObject(fields.output_format) ? fields.output_format : null;
}

/** Anthropic's format → the chat `response_format` every adapter maps (OpenAI strict: Anthropic's format is a guarantee too). */
export function formatAsResponseFormat(format: Readonly<Json>): Json {
  return { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
}

/** The marker's fields that change the answer, for the exact cache key. */
export function keyedFields(marker: unknown): Json | undefined {
  if (!isObject(marker)) return undefined;
  const out: Json = {};
  for (const [field, value] of Object.entries(marker)) if (NATIVE_FIELDS[field]?.keyed) out[field] = value;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Takes the marker off a chat body: the body without it (a copy; the original is left alone) and the client's
 * native fields, or null when the request did not come from /v1/messages with any.
 */
export function splitMessagesFields(body: Readonly<Json>): { body: Readonly<Json>; fields: Readonly<Json> | null } {
  const marker = body[MESSAGES_FIELDS_MARKER];
  if (marker === undefined) return { body, fields: null };
  const { [MESSAGES_FIELDS_MARKER]: _, ...rest } = body;
  return { body: rest, fields: isObject(marker) ? marker : null };
}

/** For a provider that does not speak Anthropic's Messages API: the 400 for a field only Anthropic can serve. */
export function refuseAnthropicOnly(fields: Readonly<Json>, providerType: string): void {
  for (const [field, value] of Object.entries(fields)) {
    const rule = NATIVE_FIELDS[field];
    if (!rule || rule.elsewhere !== 'reject' || (rule.refusedElsewhere && !rule.refusedElsewhere(value))) continue;
    throw errors.badRequest(`${field}: ${rule.refusal ?? 'only Anthropic models support this field'}; this model is served by a ${providerType} provider`, field, 'unsupported_parameter');
  }
}
