import { FNV_OFFSET, FNV_PRIME, fnvFinish, type O200kRanks, o200kRanks } from './o200k-ranks.ts';
import { pieceEnd } from './o200k-split.ts';

/**
 * Counts o200k_base tokens exactly as gpt-tokenizer 4.0.0's `countTokens(text, { disallowedSpecial: new Set() })`
 * does (special-token markers such as <|endoftext|> are plain text), without its 200k-string vocabulary: each piece
 * of the pre-tokenization split is UTF-8 encoded into a scratch buffer and either is a token (1) or is merged by
 * byte-pair ranks, lowest rank first and leftmost on ties, until no adjacent pair is a token; the pieces left are
 * the tokens. Nothing here decodes tokens, so only the count is computed.
 */

const NO_RANK = 0x7fffffff;
/** Pieces up to this many bytes merge with a linear scan for the lowest pair (fast for short pieces, O(n²)). */
const SCAN_MERGE_MAX_BYTES = 64;
/** Above this, merge buffers are allocated per piece instead of kept (a 256 KiB prompt can be a single piece). */
const SCRATCH_MAX_BYTES = 4096;
/** Heap keys are rank × 2^32 + byte position (exact in a double: ranks < 2^18, positions < 2^32). */
const POSITION_SPAN = 4294967296;

let bytes = new Uint8Array(256);
let hadLoneSurrogate = false;
/** The FNV-1a hash of the bytes `encode` wrote, computed on the way (the piece is looked up whole first). */
let encodedHash = 0;

/** UTF-8 of text[start, end) into `bytes`; lone surrogates become U+FFFD, as TextEncoder (and so gpt-tokenizer) does. */
function encode(text: string, start: number, end: number): number {
  const need = (end - start) * 3;
  if (need > bytes.length) bytes = new Uint8Array(Math.max(need, bytes.length * 2));
  const out = bytes;
  let n = 0;
  let h = FNV_OFFSET;
  hadLoneSurrogate = false;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    const first = n;
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    } else {
      const low = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
      } else {
        hadLoneSurrogate = true;
        out[n++] = 0xef;
        out[n++] = 0xbf;
        out[n++] = 0xbd;
      }
    }
    for (let k = first; k < n; k++) h = Math.imul(h ^ out[k]!, FNV_PRIME);
  }
  encodedHash = fnvFinish(h);
  return n;
}

/**
 * The rank of piece bytes [start, end) as gpt-tokenizer looks it up during merges: it decodes valid UTF-8 with a
 * TextDecoder, which drops a leading byte order mark, and looks the rest up as a string. The piece is valid UTF-8,
 * so a slice is valid when it ends on a character boundary (EF, its first byte, always starts one).
 */
function pairRank(ranks: O200kRanks, piece: Uint8Array, start: number, end: number, length: number): number {
  if (
    piece[start] === 0xef &&
    piece[start + 1] === 0xbb &&
    piece[start + 2] === 0xbf &&
    end - start >= 3 &&
    (end === length || (piece[end]! & 0xc0) !== 0x80)
  ) {
    if (end - start === 3) return NO_RANK;
    const rank = ranks.rank(piece, start + 3, end);
    return rank < 0 ? NO_RANK : rank;
  }
  const rank = ranks.rank(piece, start, end);
  return rank < 0 ? NO_RANK : rank;
}

let scanStarts = new Int32Array(SCAN_MERGE_MAX_BYTES + 1);
let scanRanks = new Int32Array(SCAN_MERGE_MAX_BYTES + 1);

/** Token count of a short piece: tiktoken's merge loop over arrays of part starts and pair ranks. */
function scanMergeCount(ranks: O200kRanks, piece: Uint8Array, length: number): number {
  const starts = scanStarts;
  const pairRanks = scanRanks;
  for (let i = 0; i <= length; i++) starts[i] = i;
  for (let i = 0; i < length - 1; i++) pairRanks[i] = pairRank(ranks, piece, i, i + 2, length);
  let parts = length;
  while (parts > 1) {
    let lowest = NO_RANK;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      if (pairRanks[i]! < lowest) {
        lowest = pairRanks[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    // Part at+1 joins part at.
    starts.copyWithin(at + 1, at + 2, parts + 1);
    pairRanks.copyWithin(at + 1, at + 2, parts - 1);
    parts--;
    pairRanks[at] = at + 2 <= parts ? pairRank(ranks, piece, starts[at]!, starts[at + 2]!, length) : NO_RANK;
    if (at > 0) pairRanks[at - 1] = pairRank(ranks, piece, starts[at - 1]!, starts[at + 1]!, length);
  }
  return parts;
}

let heapNext = new Int32Array(0);
let heapPrev = new Int32Array(0);
let heapRank = new Int32Array(0);
let heapKeys = new Float64Array(0);

/**
 * Token count of a long piece in O(n log n): parts form a linked list by byte position and candidate pairs sit in a
 * min-heap keyed by (rank, position), so the pair popped is the lowest-ranked and, among equals, the leftmost, the
 * one the scan above would pick. Entries whose pair changed since they were pushed are skipped when popped.
 */
function heapMergeCount(ranks: O200kRanks, piece: Uint8Array, length: number): number {
  const reuse = length <= SCRATCH_MAX_BYTES;
  if (reuse && heapNext.length < length + 1) {
    heapNext = new Int32Array(SCRATCH_MAX_BYTES + 1);
    heapPrev = new Int32Array(SCRATCH_MAX_BYTES + 1);
    heapRank = new Int32Array(SCRATCH_MAX_BYTES + 1);
    heapKeys = new Float64Array(3 * SCRATCH_MAX_BYTES);
  }
  const next = reuse ? heapNext : new Int32Array(length + 1);
  const prev = reuse ? heapPrev : new Int32Array(length + 1);
  const current = reuse ? heapRank : new Int32Array(length + 1);
  const heap = reuse ? heapKeys : new Float64Array(3 * length);
  let size = 0;

  const push = (key: number): void => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= key) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  };

  for (let i = 0; i < length; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    const rank = i + 1 < length ? pairRank(ranks, piece, i, i + 2, length) : NO_RANK;
    current[i] = rank;
    if (rank !== NO_RANK) push(rank * POSITION_SPAN + i);
  }
  let parts = length;
  while (size > 0) {
    const key = pop();
    const rank = Math.floor(key / POSITION_SPAN);
    const at = key - rank * POSITION_SPAN;
    if (current[at] !== rank) continue;
    const joined = next[at]!;
    const after = next[joined]!;
    next[at] = after;
    if (after < length) prev[after] = at;
    current[joined] = -1;
    parts--;
    const own = after < length ? pairRank(ranks, piece, at, next[after]!, length) : NO_RANK;
    current[at] = own;
    if (own !== NO_RANK) push(own * POSITION_SPAN + at);
    const before = prev[at]!;
    if (before >= 0) {
      const left = pairRank(ranks, piece, before, after, length);
      current[before] = left;
      if (left !== NO_RANK) push(left * POSITION_SPAN + before);
    }
  }
  return parts;
}

/**
 * Counts of pieces that took merging (words of other scripts, numbers, odd punctuation), oldest dropped first: text
 * repeats them often and a lookup costs less than a merge. Small on purpose (~0.5 MB at most; gpt-tokenizer keeps
 * 100,000 and its memory grows with traffic), and only short pieces, whose slices are cheap to key by.
 */
const MERGED_CACHE_ENTRIES = 4096;
const MERGED_CACHE_MAX_CHARS = 24;
const mergedCounts = new Map<string, number>();

function mergeCount(ranks: O200kRanks, length: number): number {
  return length <= SCAN_MERGE_MAX_BYTES ? scanMergeCount(ranks, bytes, length) : heapMergeCount(ranks, bytes, length);
}

function countPiece(ranks: O200kRanks, text: string, start: number, end: number): number {
  if (end - start === 1 && text.charCodeAt(start) < 0x80) return 1;
  const length = encode(text, start, end);
  // A piece that is a token counts 1 (gpt-tokenizer finds it by string, which a lone surrogate never matches).
  if (!hadLoneSurrogate && ranks.rankHashed(bytes, length, encodedHash) >= 0) return 1;
  if (end - start > MERGED_CACHE_MAX_CHARS) return mergeCount(ranks, length);
  const piece = text.slice(start, end);
  const known = mergedCounts.get(piece);
  if (known !== undefined) return known;
  const count = mergeCount(ranks, length);
  if (mergedCounts.size >= MERGED_CACHE_ENTRIES) mergedCounts.delete(mergedCounts.keys().next().value as string);
  mergedCounts.set(piece, count);
  return count;
}

/** o200k_base tokens in `text`, special-token markers counted as text. Loads the ranks on first call. */
export function countO200kTokens(text: string): number {
  const ranks = o200kRanks();
  let count = 0;
  for (let start = 0; start < text.length; ) {
    const end = pieceEnd(text, start);
    count += countPiece(ranks, text, start, end);
    start = end;
  }
  return count;
}
