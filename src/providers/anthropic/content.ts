import { errors } from '../../errors/errors.ts';
import type { CacheControl, ContentBlock, ImageSource, TextBlock } from './wire.ts';

/** The image types Anthropic accepts; anything else would be a 400 from Anthropic with a less helpful message. */
const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
/** Documents Anthropic reads from base64 data. */
const DOCUMENT_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/pdf']);

const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s;

type Part = Readonly<Record<string, unknown>>;
type PartConverter = (part: Part, param: string) => ContentBlock;

function parseBase64DataUrl(url: string, param: string): { mediaType: string; data: string } {
  const match = DATA_URL.exec(url);
  if (!match || !(match[2] ?? '').split(';').includes('base64')) {
    throw errors.badRequest('Only base64 data URLs (data:<type>;base64,…) can be sent to Anthropic.', param, 'invalid_value');
  }
  return { mediaType: (match[1] ?? '').toLowerCase(), data: match[3] ?? '' };
}

function imageSource(url: string, param: string): ImageSource {
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  if (!url.startsWith('data:')) throw errors.badRequest('Image URLs must be http(s) or base64 data URLs.', param, 'invalid_value');
  const { mediaType, data } = parseBase64DataUrl(url, param);
  if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
    throw errors.badRequest(`Image type ${mediaType} is not supported by Anthropic models (use JPEG, PNG, GIF or WebP).`, param, 'invalid_value');
  }
  return { type: 'base64', media_type: mediaType, data };
}

function unsupported(what: string): PartConverter {
  return (_part, param) => {
    throw errors.badRequest(`${what} cannot be sent to Anthropic models.`, param, 'unsupported_content');
  };
}

/**
 * OpenAI content part type → Anthropic content block. `detail` of an image has no Anthropic counterpart and is
 * dropped (Anthropic sizes images itself). Files are accepted only inline (a PDF data URL): an OpenAI file id means
 * nothing to Anthropic.
 */
const PART_CONVERTERS: Readonly<Record<string, PartConverter>> = {
  text: (part) => ({ type: 'text', text: String(part.text ?? '') }),
  // The assistant's earlier refusal is what it said; it goes back as text.
  refusal: (part) => ({ type: 'text', text: String(part.refusal ?? '') }),
  image_url: (part, param) => {
    const image = part.image_url as { url?: unknown } | undefined;
    return { type: 'image', source: imageSource(String(image?.url ?? ''), `${param}.image_url.url`) };
  },
  file: (part, param) => {
    const file = (part.file ?? {}) as { file_data?: unknown };
    if (typeof file.file_data !== 'string') {
      throw errors.badRequest('Only inline files (file.file_data) can be sent to Anthropic models, not file ids.', `${param}.file`, 'unsupported_content');
    }
    const { mediaType, data } = parseBase64DataUrl(file.file_data, `${param}.file.file_data`);
    if (!DOCUMENT_MEDIA_TYPES.has(mediaType)) {
      throw errors.badRequest(`File type ${mediaType} is not supported by Anthropic models (use PDF).`, `${param}.file.file_data`, 'invalid_value');
    }
    return { type: 'document', source: { type: 'base64', media_type: mediaType, data } };
  },
  input_audio: unsupported('Audio input'),
};

const CACHE_TTLS: ReadonlySet<string> = new Set(['5m', '1h']);

/**
 * Anthropic's `cache_control` as a client may put it on an OpenAI content part or tool (the form Anthropic's own
 * OpenAI guides and LiteLLM use): passed on as is, after the check Anthropic would make, so a typo is a clear 400.
 */
export function cacheControl(value: unknown, param: string): CacheControl | undefined {
  if (value === undefined || value === null) return undefined;
  const c = value as { type?: unknown; ttl?: unknown };
  if (typeof value !== 'object' || c.type !== 'ephemeral' || (c.ttl !== undefined && !CACHE_TTLS.has(String(c.ttl)))) {
    throw errors.badRequest('cache_control must be {"type":"ephemeral"} with an optional ttl of "5m" or "1h".', param, 'invalid_value');
  }
  return c.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: String(c.ttl) };
}

/** Anthropic rejects text blocks that are empty or only whitespace; such a block carries nothing for the model. */
function isBlank(block: ContentBlock): boolean {
  return block.type === 'text' && block.text.trim() === '';
}

/** An OpenAI message `content` (string, parts or null) as Anthropic content blocks. */
export function contentBlocks(content: unknown, param: string): ContentBlock[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return isBlank({ type: 'text', text: content }) ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw errors.badRequest('Message content must be a string or an array of parts.', param, 'invalid_type');
  const blocks: ContentBlock[] = [];
  content.forEach((part: Part, i) => {
    const type = String(part?.type);
    const convert = PART_CONVERTERS[type];
    if (!convert) throw errors.badRequest(`Content part type '${type}' is not supported.`, `${param}[${i}].type`, 'unsupported_content');
    const block = convert(part, `${param}[${i}]`);
    const cache = cacheControl(part.cache_control, `${param}[${i}].cache_control`);
    if (cache && (block.type === 'text' || block.type === 'image' || block.type === 'document')) block.cache_control = cache;
    if (!isBlank(block)) blocks.push(block);
  });
  return blocks;
}

/** Text-only content (system prompts, tool results) as text blocks. */
export function textBlocks(content: unknown, param: string): TextBlock[] {
  return contentBlocks(content, param).map((block, i) => {
    if (block.type !== 'text') throw errors.badRequest('Only text is allowed in this message.', `${param}[${i}]`, 'unsupported_content');
    return block;
  });
}
