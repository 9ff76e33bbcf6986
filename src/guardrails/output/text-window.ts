import { findPii, type PiiSpan } from '../pii/scan.ts';
import { redactionMask, type PiiType } from '../pii/types.ts';

/**
 * Scans one answer text that arrives in pieces (a stream's content deltas) with a bounded look-behind window. The
 * last `window` characters are held back, and the word the cut falls in (up to 4 windows), because a value may still
 * be arriving ("jane@acme.c" + "om"); whatever is older is released with its values masked. Already-released text stays as context for the labels that make a
 * number an ID, but is never released twice. A value longer than the window (a whole private-key block) may be
 * released in part before it is recognised: the window bounds both the delay and what can be caught.
 */
export class TextWindow {
  private pending = '';
  /** The tail of what was already released: context for labels, never output again. */
  private released = '';
  private readonly window: number;
  private readonly watched: ReadonlySet<PiiType>;
  private readonly redact: ReadonlySet<PiiType>;
  private readonly block: ReadonlySet<PiiType>;
  private readonly restore: (text: string) => string;
  /** Findings so far by type (counts only). */
  readonly found: Partial<Record<PiiType, number>> = {};
  /** The first blocked type seen; once set, nothing more is released. */
  blocked: PiiType | null = null;

  constructor(options: { window: number; redact: ReadonlySet<PiiType>; block: ReadonlySet<PiiType>; restore?: (text: string) => string }) {
    this.window = options.window;
    this.restore = options.restore ?? ((text) => text);
    this.redact = options.redact;
    this.block = options.block;
    this.watched = new Set([...options.redact, ...options.block]);
  }

  /** Adds text; returns what may go to the client now (possibly ''). */
  push(text: string): string {
    if (this.blocked) return '';
    this.pending += text;
    return this.release(false);
  }

  /** The end of the answer: everything left, masked. */
  flush(): string {
    if (this.blocked) return '';
    return this.release(true);
  }

  private release(final: boolean): string {
    const contextLength = this.released.length;
    const scanned = this.released + this.pending;
    // Spans that start in the released context were handled when they were released.
    // Every detector runs, so overlaps resolve as in the input scan (a URL with a password is not an email). A value
    // that began in released text (longer than the window) still has its unreleased rest masked.
    const spans = this.watched.size === 0 ? [] : findPii(scanned).filter((span) => span.end > contextLength && this.watched.has(span.type))
      .map((span): PiiSpan => ({ ...span, start: Math.max(0, span.start - contextLength), end: span.end - contextLength }));
    let cut = final ? this.pending.length : Math.max(0, this.pending.length - this.window);
    // Never release part of a word: emails, keys and addresses have no spaces, and their start is what identifies them.
    if (!final) cut = wordStart(this.pending, cut, this.window * 4);
    for (const span of spans) {
      // A value running into the held-back part waits for the rest of it.
      if (span.start < cut && span.end > cut) cut = span.start;
    }
    let out = '';
    let last = 0;
    for (const span of spans) {
      if (span.end > cut) break;
      this.found[span.type] = (this.found[span.type] ?? 0) + 1;
      if (this.block.has(span.type)) {
        this.blocked = span.type;
        out += this.pending.slice(last, span.start);
        this.pending = '';
        return this.restore(out);
      }
      if (!this.redact.has(span.type)) continue;
      out += this.pending.slice(last, span.start) + redactionMask(span.type);
      last = span.end;
    }
    out += this.pending.slice(last, cut);
    this.released = (this.released + this.pending.slice(0, cut)).slice(-64);
    this.pending = this.pending.slice(cut);
    return this.restore(out);
  }
}

const SPACE = /\s/;

/** Moves a cut inside a word back to the word's start, at most `limit` characters (a huge token is cut anyway). */
function wordStart(text: string, cut: number, limit: number): number {
  if (cut <= 0 || cut >= text.length) return cut;
  let at = cut;
  while (at > 0 && cut - at < limit && !SPACE.test(text[at - 1]!) && !SPACE.test(text[at]!)) at -= 1;
  return cut - at >= limit ? cut : at;
}
