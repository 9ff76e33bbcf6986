/**
 * The newer top-level request fields of the Messages API (the pinned SDK's MessageCreateParams, GA and beta):
 * shape checks as the real API makes them. Only `output_config.format` (and the beta `output_format`) changes what
 * the fake answers: a JSON text valid against the schema.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { invalid, typeError } from './errors.ts';
import { checkKeys, optString, reqObject } from './fields.ts';

/** Fields of `POST /v1/messages` beyond the prompt and sampling ones (validate-request.ts has those). */
export const OPTION_FIELDS = [
  'cache_control', 'container', 'diagnostics', 'inference_geo', 'output_config', 'service_tier', 'speed',
  'billing_policy', 'compaction', 'context_management', 'fallback_credit_token', 'fallbacks', 'mcp_servers',
  'output_format', 'thread',
] as const;
/** The subset `POST /v1/messages/count_tokens` takes. */
export const COUNT_OPTION_FIELDS = [
  'cache_control', 'output_config', 'speed', 'billing_policy', 'compaction', 'context_management', 'mcp_servers', 'output_format',
] as const;

function oneOf(b: Json, k: string, allowed: readonly string[]): void {
  const v = b[k];
  if (v === undefined || v === null) return;
  if (typeof v !== 'string' || !allowed.includes(v)) throw invalid(k, `Input should be ${allowed.map((a) => `'${a}'`).join(' or ')}`);
}

function objectOrNull(b: Json, k: string): Json | null {
  const v = b[k];
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw typeError(k, 'a valid dictionary', v);
  return v;
}

function checkFormat(format: Json, loc: string): Json {
  if (format.type !== 'json_schema') throw invalid(`${loc}.type`, "Input tag found using 'type' does not match any of the expected tags: 'json_schema'");
  checkKeys(format, new Set(['type', 'schema']), loc);
  const schema = reqObject(format, 'schema', loc);
  if (schema.type !== 'object') throw invalid(`${loc}.schema`, 'The root of an output schema must be of type object');
  return schema;
}

/** Validates the option fields present in `b`; returns the output schema asked for, if any. */
export function validateOptions(b: Json): Json | null {
  const cache = objectOrNull(b, 'cache_control');
  if (cache) {
    if (cache.type !== 'ephemeral') throw invalid('cache_control.type', "Input should be 'ephemeral'");
    checkKeys(cache, new Set(['type', 'ttl']), 'cache_control');
    if (cache.ttl !== undefined && cache.ttl !== '5m' && cache.ttl !== '1h') throw invalid('cache_control.ttl', "Input should be '5m' or '1h'");
  }
  oneOf(b, 'service_tier', ['auto', 'standard_only']);
  oneOf(b, 'speed', ['standard', 'fast']);
  if (b.inference_geo !== null) optString(b, 'inference_geo', '');
  if (b.container !== undefined && b.container !== null && typeof b.container !== 'string' && !isObj(b.container)) throw typeError('container', 'a valid string', b.container);
  if (b.mcp_servers !== undefined && !Array.isArray(b.mcp_servers)) throw typeError('mcp_servers', 'a valid list', b.mcp_servers);
  for (const k of ['diagnostics', 'billing_policy', 'compaction', 'context_management', 'thread'] as const) objectOrNull(b, k);
  if (b.compaction != null && b.context_management != null) throw invalid('compaction', 'compaction cannot be combined with context_management');
  let schema: Json | null = null;
  const config = objectOrNull(b, 'output_config');
  if (config) {
    checkKeys(config, new Set(['effort', 'format']), 'output_config');
    oneOf(config, 'effort', ['low', 'medium', 'high', 'xhigh', 'max']);
    const format = objectOrNull(config, 'format');
    if (format) schema = checkFormat(format, 'output_config.format');
  }
  const legacy = objectOrNull(b, 'output_format');
  if (legacy) {
    if (schema) throw invalid('output_format', 'output_format cannot be combined with output_config.format');
    schema = checkFormat(legacy, 'output_format');
  }
  return schema;
}
