import { countO200kTokens } from '../tokenizer/o200k-count.ts';
import type { ProviderType } from '../config/types.ts';

/**
 * Prompt token estimates for reservations, counted with OpenAI's o200k_base encoding (gpt-4o, gpt-4.1 and newer;
 * older OpenAI models use cl100k_base, which counts a few percent more on English text, so o200k slightly
 * underestimates them; settlement corrects it with the provider's real usage).
 *
 * Other vendors do not publish their tokenizers for offline use, so their counts are approximated by o200k times a
 * factor that errs on the high side (a reservation that is too high is refunded at settlement; one that is too low
 * lets a request overshoot a limit by the difference):
 * - Anthropic (Claude 3.x): about 1.2-1.3 tokens per o200k token on English prose and more on code → 1.3.
 * - Gemini (SentencePiece): close to o200k on English, more on other scripts → 1.1.
 */
const VENDOR_FACTOR: Record<ProviderType, number> = { openai: 1, azure: 1, anthropic: 1.3, gemini: 1.1 };
const UNKNOWN_VENDOR_FACTOR = 1.3;

/** OpenAI's chat framing: every message costs ~3 tokens plus its role, and the reply is primed with 3 more. */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
/** An image part costs up to ~1,100 tokens at high detail (a 1024×1024 picture); reserve that much. */
const TOKENS_PER_IMAGE = 1105;
/**
 * Tokenizing is synchronous CPU work on the event loop (~1.5 ms per 20k tokens here); past this many characters the
 * rest of a prompt is extrapolated from the measured ratio, so a 4 MiB body cannot stall other requests.
 */
const TOKENIZE_LIMIT_CHARS = 256 * 1024;

/**
 * Counts of the texts seen last (oldest dropped first). Real traffic repeats much of its prompts (system prompts, tool definitions, the
 * earlier turns of a conversation), and tokenizing is the costliest part of an estimate; a count is a pure function
 * of the text, so a hit is exact. Bounded in entries and in the length of what is kept.
 */
const MEMO_MAX_TEXT_CHARS = 16 * 1024;
/** All kept texts together: at most ~2 MiB of strings. */
const MEMO_BUDGET_CHARS = 1024 * 1024;
const memo = new Map<string, number>();
let memoChars = 0;

function countText(text: string): number {
  if (text.length > MEMO_MAX_TEXT_CHARS) return countO200kTokens(text);
  const known = memo.get(text);
  if (known !== undefined) return known;
  const tokens = countO200kTokens(text);
  memo.set(text, tokens);
  memoChars += text.length;
  // Oldest first out (a Map iterates in insertion order).
  while (memoChars > MEMO_BUDGET_CHARS) {
    const oldest = memo.keys().next().value as string;
    memo.delete(oldest);
    memoChars -= oldest.length;
  }
  return tokens;
}

/** Counts text tokens; special-token markers in user text count as plain text (they are text to the provider too). */
class TextCounter {
  tokens = 0;
  #budget = TOKENIZE_LIMIT_CHARS;
  #countedChars = 0;
  #extraChars = 0;

  add(text: string): void {
    if (!text) return;
    if (this.#budget <= 0) {
      this.#extraChars += text.length;
      return;
    }
    const counted = text.length <= this.#budget ? text : text.slice(0, this.#budget);
    this.tokens += countText(counted);
    this.#budget -= counted.length;
    this.#countedChars += counted.length;
    this.#extraChars += text.length - counted.length;
  }

  total(): number {
    if (this.#extraChars === 0) return this.tokens;
    return this.tokens + Math.ceil((this.#extraChars * this.tokens) / Math.max(1, this.#countedChars));
  }
}

function addContent(counter: TextCounter, content: unknown): number {
  if (typeof content === 'string') {
    counter.add(content);
    return 0;
  }
  let images = 0;
  if (!Array.isArray(content)) return 0;
  for (const part of content) {
    if (!part || typeof part !== 'object') continue;
    const p = part as { type?: unknown; text?: unknown };
    if (typeof p.text === 'string') counter.add(p.text);
    else if (p.type === 'image_url' || p.type === 'input_audio' || p.type === 'file') images += 1;
  }
  return images;
}

function chatPromptTokens(body: Record<string, unknown>): number {
  const counter = new TextCounter();
  let fixed = REPLY_PRIMING;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    const m = message as { role?: unknown; name?: unknown; content?: unknown; tool_calls?: unknown };
    fixed += TOKENS_PER_MESSAGE;
    if (typeof m.role === 'string') counter.add(m.role);
    if (typeof m.name === 'string') {
      counter.add(m.name);
      fixed += 1;
    }
    fixed += addContent(counter, m.content) * TOKENS_PER_IMAGE;
    if (Array.isArray(m.tool_calls)) counter.add(JSON.stringify(m.tool_calls));
  }
  // Tool definitions and response schemas reach the model as text too; their JSON is a fair upper estimate.
  if (Array.isArray(body.tools)) counter.add(JSON.stringify(body.tools));
  if (body.response_format && typeof body.response_format === 'object') counter.add(JSON.stringify(body.response_format));
  return counter.total() + fixed;
}

function embeddingTokens(input: unknown): number {
  if (typeof input === 'string') {
    const counter = new TextCounter();
    counter.add(input);
    return counter.total();
  }
  if (!Array.isArray(input)) return 0;
  // Token arrays are already tokens.
  if (input.every((item) => typeof item === 'number')) return input.length;
  const counter = new TextCounter();
  let tokens = 0;
  for (const item of input) {
    if (typeof item === 'string') counter.add(item);
    else if (Array.isArray(item)) tokens += item.length;
  }
  return tokens + counter.total();
}

/** Input tokens of an OpenAI-shaped request by the o200k_base encoding. */
export function promptTokens(endpoint: 'chat' | 'embeddings', body: Record<string, unknown>): number {
  return endpoint === 'chat' ? chatPromptTokens(body) : embeddingTokens(body.input);
}

/** An o200k_base count as `vendor` would count the same text (approximated, see above). */
export function tokensForVendor(o200kTokens: number, vendor: string): number {
  // The epsilon keeps 100 × 1.1 (= 110.00000000000001 in binary floating point) at 110.
  return Math.ceil(o200kTokens * (VENDOR_FACTOR[vendor as ProviderType] ?? UNKNOWN_VENDOR_FACTOR) - 1e-9);
}

/** Tokens of a completion's text (for metering what a cut stream delivered). */
export function countTextTokens(text: string): number {
  const counter = new TextCounter();
  counter.add(text);
  return counter.total();
}
