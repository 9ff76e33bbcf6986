import { errors } from '../../errors/errors.ts';
import { cacheControl } from './content.ts';
import type { ToolChoice, ToolDefinition } from './wire.ts';

/** A function without `parameters` takes no arguments; Anthropic requires a schema, so it gets the empty object one. */
const NO_PARAMETERS = { type: 'object', properties: {} } as const;

/**
 * OpenAI `tools` → Anthropic tools. `strict` has no counterpart in this API version and is dropped; a tool's
 * `cache_control` (Anthropic's, given beside `function`) is passed on.
 */
export function translateTools(tools: readonly unknown[]): ToolDefinition[] {
  return tools.map((tool, i) => {
    const t = tool as { type?: unknown; cache_control?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } };
    if (t?.type !== 'function') {
      throw errors.badRequest(`Tools of type '${String(t?.type)}' cannot be sent to Anthropic models; only function tools can.`, `tools[${i}].type`, 'unsupported_parameter');
    }
    const fn = t.function ?? {};
    const definition: ToolDefinition = {
      name: String(fn.name ?? ''),
      input_schema: fn.parameters && typeof fn.parameters === 'object' ? (fn.parameters as Record<string, unknown>) : { ...NO_PARAMETERS },
    };
    if (typeof fn.description === 'string') definition.description = fn.description;
    const cache = cacheControl(t.cache_control, `tools[${i}].cache_control`);
    if (cache) definition.cache_control = cache;
    return definition;
  });
}

/** OpenAI's `tool_choice` words → Anthropic's. */
const TOOL_CHOICE_TYPES: Readonly<Record<string, 'auto' | 'none' | 'any'>> = {
  auto: 'auto',
  none: 'none',
  required: 'any',
};

/**
 * OpenAI `tool_choice` + `parallel_tool_calls` → Anthropic `tool_choice`. Anthropic keeps "no parallel calls" inside
 * tool_choice (absent a choice, `auto` is what OpenAI means), and a `none` choice cannot carry it (no calls at all).
 */
export function translateToolChoice(choice: unknown, parallelToolCalls: unknown): ToolChoice | undefined {
  let translated: ToolChoice | undefined;
  if (typeof choice === 'string') {
    const type = TOOL_CHOICE_TYPES[choice];
    if (!type) throw errors.badRequest(`tool_choice '${choice}' is not supported.`, 'tool_choice', 'invalid_value');
    translated = { type };
  } else if (choice && typeof choice === 'object') {
    const c = choice as { type?: unknown; function?: { name?: unknown } };
    if (c.type !== 'function' || typeof c.function?.name !== 'string') {
      throw errors.badRequest(`tool_choice of type '${String(c.type)}' cannot be sent to Anthropic models.`, 'tool_choice', 'unsupported_parameter');
    }
    translated = { type: 'tool', name: c.function.name };
  }
  if (parallelToolCalls === false) {
    translated ??= { type: 'auto' };
    if (translated.type !== 'none') translated.disable_parallel_tool_use = true;
  }
  return translated;
}
