/**
 * Validation of `messages` (and `system`) like the real Messages API: user/assistant only, opening with user,
 * strictly alternating, non-empty content, known block types per role, tool_use ↔ tool_result pairing.
 */
import { isObj } from '../shared/json.ts';
import type { Json } from '../shared/json.ts';
import { ApiError, invalid, required, typeError } from './errors.ts';
import { at, checkKeys, optBool, optString, reqObject, reqString } from './fields.ts';

export interface Turn {
  role: 'user' | 'assistant';
  /** Content as blocks (a string content is one text block). */
  blocks: Json[];
}

const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const TOOL_USE_ID_RE = /^[a-zA-Z0-9_-]+$/;

function checkText(b: Json, loc: string): void {
  checkKeys(b, new Set(['type', 'text', 'cache_control', 'citations']), loc);
  const text = reqString(b, 'text', loc);
  if (text.trim() === '') throw invalid('messages', 'text content blocks must contain non-whitespace text');
}

function checkImage(b: Json, loc: string): void {
  checkKeys(b, new Set(['type', 'source', 'cache_control']), loc);
  const source = reqObject(b, 'source', loc);
  const sl = at(loc, 'source');
  if (source.type === 'base64') {
    checkKeys(source, new Set(['type', 'media_type', 'data']), sl);
    const mediaType = reqString(source, 'media_type', sl);
    if (!IMAGE_TYPES.has(mediaType)) throw invalid(at(sl, 'media_type'), "Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'");
    const data = reqString(source, 'data', sl);
    if (data === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw invalid(sl, 'Image does not match the provided media type or is not valid base64');
  } else if (source.type === 'url') {
    checkKeys(source, new Set(['type', 'url']), sl);
    if (!/^https?:\/\//.test(reqString(source, 'url', sl))) throw invalid(at(sl, 'url'), 'Only HTTP and HTTPS URLs are supported');
  } else {
    throw invalid(at(sl, 'type'), "Input tag found using 'type' does not match any of the expected tags: 'base64', 'url'");
  }
}

function checkDocument(b: Json, loc: string): void {
  checkKeys(b, new Set(['type', 'source', 'cache_control', 'title', 'context', 'citations']), loc);
  const source = reqObject(b, 'source', loc);
  const sl = at(loc, 'source');
  if (source.type !== 'base64' || source.media_type !== 'application/pdf') throw invalid(sl, 'only base64 PDF documents are supported by this fake');
  reqString(source, 'data', sl);
}

function checkToolUse(b: Json, loc: string): void {
  checkKeys(b, new Set(['type', 'id', 'name', 'input', 'cache_control']), loc);
  const id = reqString(b, 'id', loc);
  if (!TOOL_USE_ID_RE.test(id)) throw invalid(at(loc, 'id'), "String should match pattern '^[a-zA-Z0-9_-]+$'");
  reqString(b, 'name', loc);
  reqObject(b, 'input', loc);
}

function checkToolResult(b: Json, loc: string): void {
  checkKeys(b, new Set(['type', 'tool_use_id', 'content', 'is_error', 'cache_control']), loc);
  reqString(b, 'tool_use_id', loc);
  optBool(b, 'is_error', loc);
  const c = b.content;
  if (c === undefined || typeof c === 'string') return;
  if (!Array.isArray(c)) throw typeError(at(loc, 'content'), 'a valid string or list', c);
  c.forEach((inner, i) => {
    const il = at(at(loc, 'content'), i);
    if (!isObj(inner)) throw typeError(il, 'a valid dictionary', inner);
    if (inner.type === 'text') checkText(inner, il);
    else if (inner.type === 'image') checkImage(inner, il);
    else throw invalid(at(il, 'type'), "Input tag found using 'type' does not match any of the expected tags: 'text', 'image'");
  });
}

function checkThinking(b: Json, loc: string): void {
  checkKeys(b, new Set(['type', 'thinking', 'signature']), loc);
  reqString(b, 'thinking', loc);
  reqString(b, 'signature', loc);
}

/** Block type → its check, per role (tool_use is the assistant's, tool_result the user's). */
const BLOCK_CHECKS: Readonly<Record<Turn['role'], Readonly<Record<string, (b: Json, loc: string) => void>>>> = {
  user: { text: checkText, image: checkImage, document: checkDocument, tool_result: checkToolResult },
  assistant: { text: checkText, tool_use: checkToolUse, thinking: checkThinking },
};

function checkBlocks(content: unknown, role: Turn['role'], loc: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw typeError(loc, 'a valid string or list', content);
  const checks = BLOCK_CHECKS[role];
  return content.map((b, i) => {
    const bl = at(loc, i);
    if (!isObj(b)) throw typeError(bl, 'a valid dictionary', b);
    const type = b.type;
    if (type === undefined) throw required(at(bl, 'type'));
    const check = typeof type === 'string' ? checks[type] : undefined;
    if (!check) {
      throw invalid(at(bl, 'type'), `Input tag '${String(type)}' found using 'type' does not match any of the expected tags: ${Object.keys(checks).map((t) => `'${t}'`).join(', ')}`);
    }
    check(b, bl);
    return b;
  });
}

/** Each tool_use must be answered in the very next (user) turn, and each tool_result must answer the turn before. */
function checkToolPairing(turns: readonly Turn[]): void {
  turns.forEach((turn, i) => {
    if (turn.role !== 'user') return;
    const previous = turns[i - 1];
    const offered = new Set(previous?.blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id)) ?? []);
    turn.blocks.forEach((b, j) => {
      if (b.type === 'tool_result' && !offered.has(String(b.tool_use_id))) {
        throw invalid(`messages.${i}.content.${j}`, `unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(b.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
      }
    });
    const answered = new Set(turn.blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id)));
    const missing = [...offered].filter((id) => !answered.has(id));
    if (missing.length > 0) {
      throw invalid(`messages.${i - 1}`, `\`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
    }
  });
}

export function validateMessages(v: unknown): Turn[] {
  if (v === undefined) throw required('messages');
  if (!Array.isArray(v)) throw typeError('messages', 'a valid list', v);
  if (v.length === 0) throw invalid('messages', 'at least one message is required');
  const turns = v.map((m, i): Turn => {
    const loc = `messages.${i}`;
    if (!isObj(m)) throw typeError(loc, 'a valid dictionary', m);
    checkKeys(m, new Set(['role', 'content']), loc);
    const role = m.role;
    if (role === 'system') {
      throw new ApiError(400, 'Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
    }
    if (role !== 'user' && role !== 'assistant') throw invalid(at(loc, 'role'), "Input should be 'user' or 'assistant'");
    if (m.content === undefined) throw required(at(loc, 'content'));
    return { role, blocks: checkBlocks(m.content, role, at(loc, 'content')) };
  });
  if (turns[0]?.role !== 'user') throw invalid('messages', 'first message must use the "user" role');
  turns.forEach((turn, i) => {
    const previous = turns[i - 1];
    if (previous?.role === turn.role) {
      throw invalid('messages', `roles must alternate between "user" and "assistant", but found multiple "${turn.role}" roles in a row`);
    }
    const final = i === turns.length - 1;
    if (turn.blocks.length === 0 && !(final && turn.role === 'assistant')) {
      throw invalid(`messages.${i}`, 'all messages must have non-empty content except for the optional final assistant message');
    }
    const lastBlock = turn.blocks.at(-1);
    if (final && turn.role === 'assistant' && lastBlock?.type === 'text' && /\s$/.test(String(lastBlock.text))) {
      throw invalid('messages', 'final assistant content cannot end with trailing whitespace');
    }
  });
  checkToolPairing(turns);
  return turns;
}

/** `system`: a string or a list of text blocks. Returns its text (for token counts). */
export function validateSystem(v: unknown): string {
  if (v === undefined || typeof v === 'string') return v ?? '';
  if (!Array.isArray(v)) throw typeError('system', 'a valid string or list', v);
  return v
    .map((b, i) => {
      const loc = `system.${i}`;
      if (!isObj(b)) throw typeError(loc, 'a valid dictionary', b);
      if (b.type !== 'text') throw invalid(at(loc, 'type'), "Input should be 'text'");
      checkText(b, loc);
      return String(b.text);
    })
    .join(' ');
}

/** `metadata`: only `user_id`. */
export function validateMetadata(v: unknown): void {
  if (v === undefined) return;
  if (!isObj(v)) throw typeError('metadata', 'a valid dictionary', v);
  checkKeys(v, new Set(['user_id']), 'metadata');
  const id = optString(v, 'user_id', 'metadata');
  if (id !== undefined && id.length > 256) throw invalid('metadata.user_id', 'String should have at most 256 characters');
}
