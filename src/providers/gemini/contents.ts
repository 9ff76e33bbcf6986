import { errors } from '../../errors/errors.ts';
import { splitToolCallId } from './candidates.ts';
import type { GeminiContent, GeminiPart, GeminiRole } from './wire-types.ts';

/**
 * OpenAI `messages` → Gemini `contents` + `systemInstruction`.
 *
 * - system and developer messages (wherever they stand) become `systemInstruction.parts`, in order;
 * - user → `user`, assistant → `model`; tool (and legacy function) results are `functionResponse` parts of a `user`
 *   turn, as Gemini expects them;
 * - consecutive turns of one role are merged into one (Gemini wants the parallel function responses of one model
 *   turn together, and alternating roles in general);
 * - empty text is dropped (Gemini rejects an empty text part), and a message left without parts with it.
 */
type Json = Record<string, unknown>;

export interface TranslatedMessages {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
}

/** The media type of an `http(s)` URL, guessed from its extension: Gemini's `fileData` needs one. */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

/** The image types Gemini reads; anything else would be a 400 from Gemini that names no field of the client's. */
const IMAGE_MIME: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif']);

/** OpenAI `input_audio.format` → media type. */
const AUDIO_MIME: Readonly<Record<string, string>> = { wav: 'audio/wav', mp3: 'audio/mp3' };

const ROLE_OF: Readonly<Record<string, GeminiRole | 'system'>> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'model',
  tool: 'user',
  function: 'user',
};

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function translateMessages(messages: readonly unknown[]): TranslatedMessages {
  const system: Array<{ text: string }> = [];
  const contents: GeminiContent[] = [];
  /** tool_call id → function name, from the assistant messages seen so far (Gemini matches results by name). */
  const callNames = new Map<string, string>();

  messages.forEach((raw, i) => {
    const message = isObj(raw) ? raw : {};
    const role = ROLE_OF[String(message.role)];
    if (!role) throw errors.badRequest(`messages[${i}].role '${String(message.role)}' is not supported by Gemini.`, `messages[${i}].role`);
    if (role === 'system') {
      for (const part of contentParts(message.content, `messages[${i}]`)) if (part.text !== undefined) system.push({ text: part.text });
      return;
    }
    const parts = message.role === 'tool' ? [toolResult(message, i, callNames)]
      : message.role === 'function' ? [functionResult(String(message.name ?? ''), message.content)]
      : message.role === 'assistant' ? assistantParts(message, i, callNames)
      : contentParts(message.content, `messages[${i}]`);
    if (parts.length === 0) return;
    const previous = contents.at(-1);
    if (previous?.role === role) previous.parts.push(...parts);
    else contents.push({ role, parts });
  });

  if (contents.length === 0) {
    throw errors.badRequest('Gemini needs at least one user or assistant message besides the system messages.', 'messages');
  }
  return system.length > 0 ? { contents, systemInstruction: { parts: system } } : { contents };
}

/** Message content (a string or typed parts) → Gemini parts. `at` locates the message for errors. */
function contentParts(content: unknown, at: string): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const parts: GeminiPart[] = [];
  content.forEach((raw, j) => {
    const part = isObj(raw) ? raw : {};
    const path = `${at}.content[${j}]`;
    const translate = PART_TRANSLATORS[String(part.type)];
    if (!translate) throw errors.badRequest(`${path}: content parts of type '${String(part.type)}' are not supported by Gemini.`, path);
    const translated = translate(part, path);
    if (translated) parts.push(translated);
  });
  return parts;
}

/** OpenAI content part type → Gemini part (null: nothing to send, e.g. empty text). */
const PART_TRANSLATORS: Readonly<Record<string, (part: Json, path: string) => GeminiPart | null>> = {
  text: (part) => (typeof part.text === 'string' && part.text !== '' ? { text: part.text } : null),
  refusal: (part) => (typeof part.refusal === 'string' && part.refusal !== '' ? { text: part.refusal } : null),
  image_url: (part, path) => {
    const url = isObj(part.image_url) ? part.image_url.url : part.image_url;
    if (typeof url !== 'string') throw errors.badRequest(`${path}.image_url.url must be a string.`, path);
    const translated = urlPart(url, path);
    const mimeType = translated.inlineData?.mimeType ?? translated.fileData?.mimeType ?? '';
    if (!IMAGE_MIME.has(mimeType.toLowerCase())) {
      throw errors.badRequest(`${path}: image type ${mimeType} is not supported by Gemini models (use PNG, JPEG, WebP, HEIC or HEIF).`, `${path}.image_url.url`, 'invalid_value');
    }
    return translated;
  },
  input_audio: (part, path) => {
    const audio = isObj(part.input_audio) ? part.input_audio : {};
    const mimeType = AUDIO_MIME[String(audio.format)];
    if (!mimeType || typeof audio.data !== 'string') throw errors.badRequest(`${path}.input_audio needs base64 data and a format of wav or mp3.`, path);
    return { inlineData: { mimeType, data: audio.data } };
  },
  file: (part, path) => {
    const file = isObj(part.file) ? part.file : {};
    if (typeof file.file_data !== 'string') throw errors.badRequest(`${path}: Gemini needs the file inline as file.file_data (a data: URL); file ids are not supported.`, path);
    return urlPart(file.file_data, path);
  },
};

/** A data: URL becomes `inlineData`; an http(s) URL `fileData`, typed by its extension (or refused when unknown). */
function urlPart(url: string, path: string): GeminiPart {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { inlineData: { mimeType: data[1] as string, data: data[2] as string } };
  if (url.startsWith('data:')) throw errors.badRequest(`${path}: a data: URL must be base64 encoded with a media type (data:<type>;base64,…).`, path);
  if (!/^https?:\/\//i.test(url)) throw errors.badRequest(`${path}: only data: and http(s) URLs are supported.`, path);
  const extension = /\.([a-z0-9]+)$/i.exec(URL.parse(url)?.pathname ?? '')?.[1]?.toLowerCase() ?? '';
  const mimeType = MIME_BY_EXTENSION[extension];
  if (!mimeType) {
    const known = Object.keys(MIME_BY_EXTENSION).map((e) => `.${e}`).join(', ');
    throw errors.badRequest(`${path}: Gemini needs the media type of a linked file; use a URL ending in ${known}, or a data: URL.`, path);
  }
  return { fileData: { mimeType, fileUri: url } };
}

function assistantParts(message: Json, i: number, callNames: Map<string, string>): GeminiPart[] {
  const parts = contentParts(message.content, `messages[${i}]`);
  if (!Array.isArray(message.tool_calls)) return parts;
  message.tool_calls.forEach((raw, j) => {
    const call = isObj(raw) ? raw : {};
    const fn = isObj(call.function) ? call.function : {};
    const path = `messages[${i}].tool_calls[${j}]`;
    if (typeof fn.name !== 'string' || fn.name === '') throw errors.badRequest(`${path}.function.name is required.`, path);
    if (typeof call.id === 'string') callNames.set(call.id, fn.name);
    const part: GeminiPart = { functionCall: { name: fn.name, args: parseArguments(fn.arguments, `${path}.function.arguments`) } };
    // The signature Gemini gave this call travels in its id (see candidates.ts) and goes back on its part.
    const { signature } = splitToolCallId(typeof call.id === 'string' ? call.id : '');
    if (signature) part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

/** Tool call arguments are a JSON string in OpenAI and an object in Gemini. */
function parseArguments(raw: unknown, path: string): Record<string, unknown> {
  if (raw === undefined || raw === null || raw === '') return {};
  if (isObj(raw)) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    throw errors.badRequest(`${path} is not valid JSON.`, path);
  }
  if (!isObj(parsed)) throw errors.badRequest(`${path} must be a JSON object.`, path);
  return parsed;
}

function toolResult(message: Json, i: number, callNames: Map<string, string>): GeminiPart {
  const id = String(message.tool_call_id ?? '');
  const name = callNames.get(id);
  if (!name) {
    throw errors.badRequest(`messages[${i}].tool_call_id '${id}' matches no tool call of an earlier assistant message.`, `messages[${i}].tool_call_id`);
  }
  return functionResult(name, message.content);
}

/**
 * Gemini's `functionResponse.response` must be a JSON object: a result that is one is sent as is, anything else
 * (plain text, a JSON array or number) is wrapped as `{ "content": "<the result text>" }`.
 */
function functionResult(name: string, content: unknown): GeminiPart {
  const text = typeof content === 'string' ? content
    : Array.isArray(content) ? content.map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : '')).join('')
    : '';
  let response: Record<string, unknown> = { content: text };
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObj(parsed)) response = parsed;
  } catch {
    // not JSON: keep the text wrapped
  }
  return { functionResponse: { name, response } };
}
