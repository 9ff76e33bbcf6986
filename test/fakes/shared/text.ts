/** Text helpers shared by the fake providers: word counts (fake token counts), splitting answers into stream pieces, message text. */
import { isObj } from './json.ts';

const WORD_RE = /\S+/g;
export function countWords(s: string): number {
  WORD_RE.lastIndex = 0;
  let n = 0;
  while (WORD_RE.exec(s) !== null) n++;
  return n;
}

/** Word pieces that keep their leading whitespace; trailing whitespace joins the last piece. */
export function splitPieces(s: string): string[] {
  const pieces: string[] = s.match(/\s*\S+/g) ?? [];
  const used = pieces.reduce((a, p) => a + p.length, 0);
  if (used < s.length) {
    const rest = s.slice(used);
    if (pieces.length > 0) pieces[pieces.length - 1] += rest;
    else pieces.push(rest);
  }
  return pieces;
}

/** The text's stream pieces, at most `max` of them (a piece is one fake token); `capped` says the limit cut the text. */
export function piecesUpTo(text: string, max: number | undefined): { pieces: string[]; capped: boolean } {
  const pieces = splitPieces(text);
  if (max === undefined || pieces.length <= max) return { pieces, capped: false };
  return { pieces: pieces.slice(0, max), capped: true };
}

export function splitFixed(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

/** Text of a message content: a string, or the `text` of its parts joined by a space. */
export function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let out = '';
  let first = true;
  for (const p of c) {
    if (isObj(p) && typeof p.text === 'string') {
      out += first ? p.text : ' ' + p.text;
      first = false;
    }
  }
  return out;
}
