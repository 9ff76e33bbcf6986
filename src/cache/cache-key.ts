import { createHash } from 'node:crypto';
import { keyedFields, MESSAGES_FIELDS_MARKER } from '../messages/native-fields.ts';
import type { RouteCandidate, Tenant } from '../pipeline/context.ts';

/**
 * Fields that never change what the model answers. Everything else in the body (messages, tools, tool_choice,
 * temperature, top_p, seed, response_format, max_tokens, stop, n, logit_bias, and any field a later API adds) is
 * part of the key: an unknown field must split entries, never merge them. `stream` is not here: a stream and a JSON
 * answer are stored apart (see `kind`).
 */
const OUTPUT_NEUTRAL_FIELDS = new Set(['stream_options', 'user', 'metadata', 'store']);

/** JSON with object keys sorted at every depth, so `{a,b}` and `{b,a}` hash alike. */
export function canonicalJson(value: unknown): string {
  return appendCanonicalJson('', value);
}

/**
 * Array.prototype.sort copies into a work array on every call (~3 KiB per request here); bodies have a handful of keys
 * per object, where an insertion sort in place is faster and allocates nothing. Same order as the default sort.
 */
function sortedInPlace(keys: string[]): string[] {
  if (keys.length > 24) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/**
 * Appends to one growing string (V8 keeps it as a rope until it is hashed) rather than mapping, filtering and joining
 * arrays at every depth: the array version was ~9 KiB of garbage per request (issue 11).
 */
function appendCanonicalJson(out: string, value: unknown): string {
  if (value === null || typeof value !== 'object') return out + (JSON.stringify(value) ?? 'null');
  if (Array.isArray(value)) {
    out += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out = appendCanonicalJson(out, value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedInPlace(Object.keys(record));
  out += '{';
  let first = true;
  for (const key of keys) {
    const field = record[key];
    if (field === undefined) continue;
    if (!first) out += ',';
    first = false;
    out = appendCanonicalJson(`${out}${JSON.stringify(key)}:`, field);
  }
  return `${out}}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export type CacheShare = 'org' | 'team' | 'app';

/** The tenant part of every key: entries are shared at most within one org, and as narrowly as configured. */
export function tenantScope(tenant: Pick<Tenant, 'org' | 'team' | 'app'>, share: CacheShare): string[] {
  switch (share) {
    case 'org':
      return [tenant.org];
    case 'team':
      return [tenant.org, tenant.team];
    case 'app':
      return [tenant.org, tenant.team, tenant.app];
  }
}

export interface KeyInput {
  scope: string[];
  /** The public model or alias and what it resolved to (provider/model pairs): re-pointing an alias splits entries. */
  alias: string;
  candidates: readonly RouteCandidate[];
  /** JSON answer or SSE stream: stored apart, each replayed in its own form. */
  kind: 'json' | 'sse';
  /** The client's request body (OpenAI format, after input guardrails). */
  body: Readonly<Record<string, unknown>>;
}

function outputFields(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (OUTPUT_NEUTRAL_FIELDS.has(name) || name === 'model' || name === 'stream') continue;
    // A /v1/messages request's Anthropic-only fields: those that change the answer (top_k, thinking, output_config…)
    // split entries; hints about where and how fast it runs (service_tier, speed, cache_control…) do not.
    if (name === MESSAGES_FIELDS_MARKER) {
      const keyed = keyedFields(value);
      if (keyed) fields[name] = keyed;
      continue;
    }
    fields[name] = value;
  }
  return fields;
}

function keyMaterial(input: KeyInput, fields: Record<string, unknown>): string {
  return canonicalJson({
    v: 1,
    scope: input.scope,
    alias: input.alias,
    resolved: input.candidates.map((c) => `${c.provider}/${c.model}`),
    kind: input.kind,
    fields,
  });
}

/** The exact-match key: every output-changing field, canonicalised, hashed with tenant scope and model resolution. */
export function exactKey(input: KeyInput): string {
  return sha256(keyMaterial(input, outputFields(input.body)));
}

/** Text of a message's content: a string, or the text parts of a content array (null when any part is not text). */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part?.type !== 'text' || typeof part.text !== 'string') return null;
    texts.push(part.text);
  }
  return texts.join('\n');
}

export interface SemanticQuery {
  /** Everything but the wording of the last user message: only requests equal in all of it may share an answer. */
  namespace: string;
  /** The last user message, the part that is compared by meaning. */
  text: string;
  /**
   * Where verified outcomes of error-bounded rules are pooled: the tenant scope and the model alias (a namespace,
   * one system prompt and parameter set, rarely repeats enough to learn a threshold of its own).
   */
  calibrationScope: string;
}

/**
 * The semantic lookup of a request: the last message must be the user's and plain text. The namespace hashes the
 * same material as the exact key with that message's content blanked, so a paraphrase matches only within the same
 * tenant scope, model, parameters, tools and earlier conversation.
 */
export function semanticQuery(input: KeyInput): SemanticQuery | null {
  const messages = input.body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return null;
  const last = messages.at(-1) as { role?: unknown; content?: unknown } | undefined;
  if (last?.role !== 'user') return null;
  const text = contentText(last.content);
  if (!text || !text.trim()) return null;
  const fields = outputFields(input.body);
  fields.messages = [...messages.slice(0, -1), { ...last, content: null }];
  return {
    namespace: sha256(`semantic:${keyMaterial(input, fields)}`),
    text,
    calibrationScope: sha256(`calibration:${canonicalJson({ scope: input.scope, alias: input.alias })}`),
  };
}
