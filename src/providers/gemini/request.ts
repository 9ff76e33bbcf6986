import { errors } from '../../errors/errors.ts';
import { translateMessages } from './contents.ts';
import { hasProperties, toGeminiSchema } from './schema.ts';

/**
 * An OpenAI chat request → a Gemini `GenerateContentRequest` body. Messages are translated by contents.ts; the
 * generation parameters by the `GENERATION_CONFIG` table; tools and tool_choice below.
 *
 * Dropped because Gemini has no equivalent (the answer is still valid without them): `user`, `metadata`, `store`,
 * `service_tier`, `parallel_tool_calls`, `logit_bias`, `logprobs`/`top_logprobs`, `prediction`, `modalities`,
 * `stream_options` (Gemini always reports usage). `model` and `stream` travel in the URL.
 */
type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `reasoning_effort` → Gemini's thinking budget in tokens (the budgets Google's own OpenAI compatibility uses). */
const THINKING_BUDGET: Readonly<Record<string, number>> = { none: 0, minimal: 0, low: 1024, medium: 8192, high: 24576 };

/**
 * The budgets each model family takes (first matching prefix): Gemini refuses others with a 400. 2.5 Pro always
 * thinks (0 becomes its minimum); the others may not think at all (0) or think within their range.
 */
const THINKING_RANGES: ReadonlyArray<readonly [string, { canSkip: boolean; min: number; max: number }]> = [
  ['gemini-2.5-pro', { canSkip: false, min: 128, max: 32768 }],
  ['gemini-2.5-flash-lite', { canSkip: true, min: 512, max: 24576 }],
  ['gemini-2.5-flash', { canSkip: true, min: 1, max: 24576 }],
];

function thinkingBudget(effort: unknown, model: string): Json {
  if (typeof effort !== 'string' || !(effort in THINKING_BUDGET)) return {};
  const budget = THINKING_BUDGET[effort] as number;
  const range = THINKING_RANGES.find(([prefix]) => model.startsWith(prefix))?.[1];
  if (!range) return { thinkingConfig: { thinkingBudget: budget } };
  const fitted = budget === 0 && range.canSkip ? 0 : Math.min(range.max, Math.max(range.min, budget));
  return { thinkingConfig: { thinkingBudget: fitted } };
}

/**
 * OpenAI chat parameter → its part of `generationConfig`. Applied in this order, so `max_completion_tokens` wins
 * over the older `max_tokens` when both are sent. Null means "not set" in OpenAI and is skipped.
 */
const GENERATION_CONFIG: ReadonlyArray<readonly [string, (value: unknown, model: string) => Json]> = [
  ['temperature', (v) => ({ temperature: v })],
  ['top_p', (v) => ({ topP: v })],
  ['max_tokens', (v) => ({ maxOutputTokens: v })],
  ['max_completion_tokens', (v) => ({ maxOutputTokens: v })],
  ['stop', (v) => ({ stopSequences: typeof v === 'string' ? [v] : v })],
  ['n', (v) => ({ candidateCount: v })],
  ['seed', (v) => ({ seed: v })],
  ['presence_penalty', (v) => ({ presencePenalty: v })],
  ['frequency_penalty', (v) => ({ frequencyPenalty: v })],
  ['reasoning_effort', (v, model) => thinkingBudget(v, model)],
  ['response_format', (v) => responseFormat(v)],
];

/** `response_format` → JSON mode: `json_object` asks for JSON, `json_schema` adds the (translated) schema. */
function responseFormat(format: unknown): Json {
  const f = isObj(format) ? format : {};
  if (f.type === 'json_object') return { responseMimeType: 'application/json' };
  if (f.type === 'json_schema') {
    const schema = isObj(f.json_schema) ? f.json_schema.schema : undefined;
    if (!isObj(schema)) return { responseMimeType: 'application/json' };
    return { responseMimeType: 'application/json', responseSchema: toGeminiSchema(schema, 'response_format.json_schema.schema') };
  }
  return {};
}

function generationConfig(body: Readonly<Json>, model: string): Json | undefined {
  const config: Json = {};
  for (const [param, translate] of GENERATION_CONFIG) {
    const value = body[param];
    if (value !== undefined && value !== null) Object.assign(config, translate(value, model));
  }
  return Object.keys(config).length > 0 ? config : undefined;
}

/** OpenAI `tools` → one Gemini tool holding every function declaration. */
function tools(raw: unknown): Json[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const functionDeclarations = raw.map((entry, i) => {
    const tool = isObj(entry) ? entry : {};
    const fn = isObj(tool.function) ? tool.function : null;
    if (tool.type !== 'function' || !fn || typeof fn.name !== 'string') {
      throw errors.badRequest(`tools[${i}]: Gemini supports function tools only ({"type":"function","function":{"name",…}}).`, `tools[${i}]`);
    }
    const declaration: Json = { name: fn.name };
    if (typeof fn.description === 'string') declaration.description = fn.description;
    if (isObj(fn.parameters)) {
      const parameters = toGeminiSchema(fn.parameters, `tools[${i}].function.parameters`);
      // Gemini rejects an OBJECT schema without properties; a function without parameters simply has none.
      if (hasProperties(parameters)) declaration.parameters = parameters;
    }
    return declaration;
  });
  return [{ functionDeclarations }];
}

/** OpenAI `tool_choice` string → Gemini function calling mode. */
const TOOL_CHOICE_MODE: Readonly<Record<string, string>> = { auto: 'AUTO', none: 'NONE', required: 'ANY' };

function toolConfig(choice: unknown): Json | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') {
    const mode = TOOL_CHOICE_MODE[choice];
    if (!mode) throw errors.badRequest(`tool_choice '${choice}' is not supported by Gemini (use auto, none, required or a function).`, 'tool_choice');
    return { functionCallingConfig: { mode } };
  }
  const fn = isObj(choice) && isObj(choice.function) ? choice.function : null;
  if (!fn || typeof fn.name !== 'string') {
    throw errors.badRequest('tool_choice must be auto, none, required or {"type":"function","function":{"name":…}} for Gemini.', 'tool_choice');
  }
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [fn.name] } };
}

/** `model` is the bare upstream model name (some mappings depend on its family). */
export function translateChatRequest(body: Readonly<Json>, model = ''): Json {
  const { contents, systemInstruction } = translateMessages(Array.isArray(body.messages) ? body.messages : []);
  const out: Json = { contents };
  if (systemInstruction) out.systemInstruction = systemInstruction;
  const declared = tools(body.tools);
  if (declared) out.tools = declared;
  // Without tools a tool_choice means nothing to Gemini, and it rejects a functionCallingConfig with none declared.
  const config = declared ? toolConfig(body.tool_choice) : undefined;
  if (config) out.toolConfig = config;
  const generation = generationConfig(body, model);
  if (generation) out.generationConfig = generation;
  return out;
}
