import { errors } from '../../errors/errors.ts';
import type { MessagesRequest, ResponseBlock, ToolChoice, ToolDefinition } from './wire.ts';

/**
 * OpenAI structured outputs on Anthropic: the Messages API (in the pinned version) has no response schema, but a
 * tool's `input_schema` constrains what the model writes as that tool's input. So `response_format` becomes one
 * extra tool the model is made to call, and its input comes back to the client as the message content (JSON text),
 * with `finish_reason: stop`, exactly as OpenAI answers a structured request.
 *
 * The tool's name is reserved: a client tool of that name is refused, so a tool_use of this name in the answer can
 * only be the structured output (the response translators need nothing from the request to recognise it).
 */
export const STRUCTURED_OUTPUT_TOOL = 'json_response';

/** json_object asks only for "some JSON object": a schema that any object satisfies. */
const ANY_OBJECT = { type: 'object', additionalProperties: true } as const;

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tool that carries the client's `response_format`, or null for `text` (no constraint). */
function outputTool(format: unknown): ToolDefinition | null {
  const f = isObj(format) ? format : {};
  if (f.type === 'json_object') {
    return { name: STRUCTURED_OUTPUT_TOOL, description: 'Give your whole answer as a JSON object through this tool.', input_schema: { ...ANY_OBJECT } };
  }
  if (f.type !== 'json_schema') return null;
  const spec = isObj(f.json_schema) ? f.json_schema : {};
  const schema = spec.schema ?? ANY_OBJECT;
  // Anthropic tool inputs are objects, and so are OpenAI's structured outputs in practice (strict mode requires it).
  if (!isObj(schema) || schema.type !== 'object') {
    throw errors.badRequest('For Anthropic models the response_format schema must describe an object (type: "object" at the root).', 'response_format.json_schema.schema', 'invalid_value');
  }
  const purpose = typeof spec.description === 'string' ? ` ${spec.description}` : '';
  const name = typeof spec.name === 'string' ? ` (${spec.name})` : '';
  return { name: STRUCTURED_OUTPUT_TOOL, description: `Give your whole answer through this tool, as JSON matching its schema${name}.${purpose}`, input_schema: schema };
}

/**
 * Adds the structured-output tool to an Anthropic body whose tools (and tool choice) are already translated.
 * Alone, the tool is forced. Beside client tools the model may call any of them (`any`) so it can still use the
 * client's tools before answering; a client that forced one of its own functions keeps that choice.
 */
export function applyResponseFormat(format: unknown, out: MessagesRequest): void {
  const tool = outputTool(format);
  if (!tool) return;
  const clientTools = out.tools ?? [];
  if (clientTools.some((t) => t.name === STRUCTURED_OUTPUT_TOOL)) {
    throw errors.badRequest(`The tool name '${STRUCTURED_OUTPUT_TOOL}' is reserved for response_format on Anthropic models.`, 'tools', 'invalid_value');
  }
  if (out.thinking) {
    throw errors.badRequest('reasoning_effort cannot be combined with a JSON response_format on Anthropic models: extended thinking does not allow the forced tool use that carries the schema.', 'response_format', 'unsupported_parameter');
  }
  out.tools = [...clientTools, tool];
  const choice = out.tool_choice;
  const parallel = choice && 'disable_parallel_tool_use' in choice ? { disable_parallel_tool_use: choice.disable_parallel_tool_use } : {};
  const forced: ToolChoice = { type: 'tool', name: STRUCTURED_OUTPUT_TOOL };
  if (clientTools.length === 0 || choice?.type === 'none') out.tool_choice = forced;
  else if (choice?.type !== 'tool') out.tool_choice = { type: 'any', ...parallel };
}

/** Whether an answer block is the structured output (the reserved tool's call) rather than a call for the client. */
export function isStructuredOutput(block: ResponseBlock): boolean {
  return block.type === 'tool_use' && block.name === STRUCTURED_OUTPUT_TOOL;
}
