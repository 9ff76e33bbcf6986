/**
 * The o200k_base pre-tokenization split: the pieces BPE then encodes one by one. The split is tiktoken's regular
 * expression (as gpt-tokenizer writes it for JavaScript); its Unicode property classes make it the costliest part of
 * a count, so pieces made of ASCII characters are found by a hand-written scanner that takes the same decisions as
 * the expression restricted to ASCII, and everything else (a piece touching any non-ASCII character, including the
 * character that ends it) falls back to the expression, matched at that position.
 *
 * The pieces tile the text (every character starts a match of some alternative), so matching the expression at the
 * end of the previous piece is the same as scanning the whole text with it.
 */

const CONTRACTION = String.raw`(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?`;
export const O200K_SPLIT_PATTERN =
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+${CONTRACTION}` +
  String.raw`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*${CONTRACTION}` +
  String.raw`|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const O200K_SPLIT_AT = new RegExp(O200K_SPLIT_PATTERN, 'uy');

// ASCII character classes as the expression sees them (JavaScript's \s: tab, LF, VT, FF, CR, space).
const UPPER = 1;
const LOWER = 2;
const DIGIT = 4;
const SPACE = 8;
const NEWLINE = 16; // \r or \n
const OTHER = 32; // neither \s nor a letter nor a digit
const CLASS = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    if (c >= 0x41 && c <= 0x5a) table[c] = UPPER;
    else if (c >= 0x61 && c <= 0x7a) table[c] = LOWER;
    else if (c >= 0x30 && c <= 0x39) table[c] = DIGIT;
    else if (c === 0x0a || c === 0x0d) table[c] = SPACE | NEWLINE;
    else if (c === 0x09 || c === 0x0b || c === 0x0c || c === 0x20) table[c] = SPACE;
    else table[c] = OTHER;
  }
  return table;
})();
const NON_ASCII = 64;
const END = 0;
const APOSTROPHE = 0x27;

/** The class of text[i]: END past the end, NON_ASCII for anything the table does not decide. */
function classAt(text: string, i: number): number {
  if (i >= text.length) return END;
  const c = text.charCodeAt(i);
  return c < 128 ? CLASS[c]! : NON_ASCII;
}

/** The length of the optional contraction suffix ('s, 'd, 'm, 't, 'll, 've, 're; either case per letter) at i. */
function contractionLength(text: string, i: number): number {
  if (text.charCodeAt(i) !== APOSTROPHE) return 0;
  // | 0x20 lower-cases ASCII letters and sets a bit no other character needs to match (NaN past the end → 0x20).
  const a = text.charCodeAt(i + 1) | 0x20;
  if (a === 0x73 || a === 0x64 || a === 0x6d || a === 0x74) return 2; // s d m t
  const b = text.charCodeAt(i + 2) | 0x20;
  if ((a === 0x6c && b === 0x6c) || (a === 0x76 && b === 0x65) || (a === 0x72 && b === 0x65)) return 3; // ll ve re
  return 0;
}

/**
 * The end of the piece starting at i when the ASCII scanner can decide it, or -1 when the expression must.
 * Alternatives in the expression's order: letters with an optional prefix (1, 2), up to three digits (3),
 * punctuation with an optional leading space and trailing newlines or slashes (4), whitespace up to its last newline
 * (5), whitespace but its last character when a non-space follows (6), any whitespace (7).
 */
function asciiPieceEnd(text: string, i: number): number {
  const first = classAt(text, i);
  if (first === NON_ASCII) return -1;
  let j = i;
  // 1, 2: [^\r\n\p{L}\p{N}]? then upper-case letters, then lower-case ones, at least one letter in all.
  if ((first & (UPPER | LOWER)) === 0 && (first & (NEWLINE | DIGIT)) === 0) j = i + 1;
  const letter = classAt(text, j);
  if (letter === NON_ASCII) return -1;
  if (letter & (UPPER | LOWER)) {
    while (classAt(text, j) === UPPER) j++;
    let end = classAt(text, j);
    while (end === LOWER) end = classAt(text, ++j);
    if (end === NON_ASCII) return -1; // a non-ASCII letter or mark could continue the piece
    return j + contractionLength(text, j);
  }
  if (first === DIGIT) {
    // 3: \p{N}{1,3}.
    let k = i + 1;
    while (k < i + 3) {
      const c = classAt(text, k);
      if (c === NON_ASCII) return -1; // a non-ASCII digit would continue the run
      if (c !== DIGIT) break;
      k++;
    }
    return k;
  }
  // 4: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`.
  const punctuationAt = text.charCodeAt(i) === 0x20 ? i + 1 : i;
  const punctuation = classAt(text, punctuationAt);
  if (punctuation === NON_ASCII) return -1;
  if (punctuation === OTHER) {
    let k = punctuationAt + 1;
    let c = classAt(text, k);
    while (c === OTHER) c = classAt(text, ++k);
    if (c === NON_ASCII) return -1; // non-ASCII punctuation or symbols would continue the run
    for (let code = text.charCodeAt(k); code === 0x0a || code === 0x0d || code === 0x2f; code = text.charCodeAt(++k));
    return k;
  }
  // 5-7: a whitespace run.
  let k = i;
  let lastNewline = -1;
  let c = first;
  while (c & SPACE) {
    if (c & NEWLINE) lastNewline = k;
    c = classAt(text, ++k);
  }
  if (c === NON_ASCII) return -1; // non-ASCII whitespace would continue the run
  if (lastNewline >= 0) return lastNewline + 1;
  if (c === END || k - i === 1) return k;
  return k - 1;
}

/** The end of the piece that starts at `start` (pieces tile the text: the next one starts there). */
export function pieceEnd(text: string, start: number): number {
  const end = asciiPieceEnd(text, start);
  if (end >= 0) return end;
  const split = O200K_SPLIT_AT;
  split.lastIndex = start;
  const match = split.exec(text);
  // Unreachable: every character starts a match of one of the alternatives.
  if (match === null) throw new Error(`o200k_base split: no piece at index ${start}`);
  return start + match[0].length;
}
