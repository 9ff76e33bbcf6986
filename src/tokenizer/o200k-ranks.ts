import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The o200k_base merge ranks in three typed arrays instead of 200k JS strings in a Map (gpt-tokenizer's in-memory
 * form costs ~76 MB of RSS; this one ~4 MB): every token's bytes back to back in `vocab`, token r at
 * vocab[offsets[r], offsets[r+1]), and an open-addressing hash table of ranks keyed by those bytes (FNV-1a).
 *
 * Source: the tiktoken rank file gpt-tokenizer ships (data/o200k_base.tiktoken, "base64 rank" per line), parsed from
 * its bytes without making a string per line, so loading leaves nothing behind but the arrays. Reading it at first
 * use rather than generating a binary at setup/build time keeps one source of truth that cannot drift from the
 * installed package, needs no step in scripts/setup, the Docker build or fresh worktrees, and costs ~20-40 ms once.
 */
export interface O200kRanks {
  /** The rank of bytes[start, end), or -1 when those bytes are not a token. */
  rank(bytes: Uint8Array, start: number, end: number): number;
  /** rank(bytes, 0, length) when the caller already has fnv1a(bytes, 0, length) (computed while encoding). */
  rankHashed(bytes: Uint8Array, length: number, hash: number): number;
  readonly tokenCount: number;
}

const EMPTY_SLOT = 0xffffffff;

export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** FNV-1a's running state after the bytes; fnvFinish turns it into the table hash. */
export function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return fnvFinish(h);
}

/** FNV's low bits mix poorly for short keys and the table is indexed by them, so the high half is folded in. */
export function fnvFinish(h: number): number {
  return (h ^ (h >>> 16)) >>> 0;
}

const BASE64_VALUE = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

const SPACE = 0x20;
const NEWLINE = 0x0a;
const EQUALS = 0x3d;

/** Parses a .tiktoken file whose ranks are 0, 1, 2, … in line order (true of every OpenAI encoding file). */
export function parseTiktokenRanks(file: Uint8Array): O200kRanks {
  // Pass 1: the number of tokens and of decoded bytes, so the arrays are allocated once at their final size.
  let tokenCount = 0;
  let vocabBytes = 0;
  for (let i = 0; i < file.length; ) {
    const space = file.indexOf(SPACE, i);
    if (space < 0) break;
    let chars = space - i;
    while (chars > 0 && file[i + chars - 1] === EQUALS) chars--;
    vocabBytes += (chars * 3) >> 2;
    tokenCount++;
    const newline = file.indexOf(NEWLINE, space);
    i = newline < 0 ? file.length : newline + 1;
  }

  const vocab = new Uint8Array(vocabBytes);
  const offsets = new Uint32Array(tokenCount + 1);
  let capacity = 1;
  while (capacity < tokenCount * 2.5) capacity <<= 1; // load factor ≤ 0.4 keeps misses to ~2 probes
  const mask = capacity - 1;
  const slots = new Uint32Array(capacity).fill(EMPTY_SLOT);

  let out = 0;
  let rank = 0;
  for (let i = 0; i < file.length && rank < tokenCount; ) {
    offsets[rank] = out;
    // Base64 decode up to the space.
    let bits = 0;
    let nbits = 0;
    let j = i;
    for (; file[j] !== SPACE; j++) {
      const v = BASE64_VALUE[file[j]!]!;
      if (v < 0) continue; // '=' padding
      bits = ((bits << 6) | v) & 0xffffff;
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        vocab[out++] = (bits >> nbits) & 0xff;
      }
    }
    let declared = 0;
    for (j++; j < file.length && file[j] !== NEWLINE; j++) declared = declared * 10 + (file[j]! - 0x30);
    if (declared !== rank) throw new Error(`o200k_base ranks: line ${rank + 1} has rank ${declared}; expected ${rank}`);
    i = j + 1;
    rank++;
  }
  offsets[tokenCount] = out;

  for (let r = 0; r < tokenCount; r++) {
    const start = offsets[r]!;
    const end = offsets[r + 1]!;
    // gpt-tokenizer keeps tokens that start with a UTF-8 byte order mark (EF BB BF) only as byte arrays and decodes
    // candidate byte strings with a BOM-stripping TextDecoder, so it never produces them; neither does this.
    if (end - start >= 3 && vocab[start] === 0xef && vocab[start + 1] === 0xbb && vocab[start + 2] === 0xbf) continue;
    let slot = fnv1a(vocab, start, end) & mask;
    while (slots[slot] !== EMPTY_SLOT) slot = (slot + 1) & mask;
    slots[slot] = r;
  }

  function find(bytes: Uint8Array, start: number, length: number, hash: number): number {
    let slot = hash & mask;
    for (;;) {
      const r = slots[slot]!;
      if (r === EMPTY_SLOT) return -1;
      const at = offsets[r]!;
      if (offsets[r + 1]! - at === length) {
        let k = 0;
        while (k < length && vocab[at + k] === bytes[start + k]) k++;
        if (k === length) return r;
      }
      slot = (slot + 1) & mask;
    }
  }

  return {
    tokenCount,
    rank: (bytes, start, end) => find(bytes, start, end - start, fnv1a(bytes, start, end)),
    rankHashed: (bytes, length, hash) => find(bytes, 0, length, hash),
  };
}

let loaded: O200kRanks | undefined;

/** The ranks, read on first use (a gateway that never counts tokens never pays for them). */
export function o200kRanks(): O200kRanks {
  if (!loaded) {
    const path = fileURLToPath(import.meta.resolve('gpt-tokenizer/data/o200k_base.tiktoken'));
    loaded = parseTiktokenRanks(readFileSync(path));
  }
  return loaded;
}
