import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import bpeRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { describe, expect, it } from 'vitest';
import { countO200kTokens } from '../../../src/tokenizer/o200k-count.ts';
import {
  decodeRankTable,
  encodeRankTable,
  o200kRanks,
  type O200kRanks,
  parseTiktokenRanks,
  rankLookup,
  rankTableFromTiktokenFile,
  readerOf,
} from '../../../src/tokenizer/o200k-ranks.ts';
import { O200K_SPLIT_PATTERN, pieceEnd } from '../../../src/tokenizer/o200k-split.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

/** gpt-tokenizer, the reference: o200k_base with special-token markers counted as text (as estimate.ts counted). */
const reference = (text: string): number => countTokens(text, { disallowedSpecial: new Set() });


const FIXED_CORPUS = [
  '',
  'a',
  'Hello world',
  "The quick brown fox jumps over the lazy dog. It's what they'd've WANTED, isn't it? I'LL see; you'Re right.",
  'Tiếng Việt có dấu: Người ta nói rằng học tập là một hành trình dài, không có điểm kết thúc. Đường phố Hà Nội.',
  'Tie\u0302\u0301ng Vie\u0323\u0302t (decomposed diacritics) and combining marks: e\u0301\u0301\u0301 a\u0308',
  '人工智能正在改变世界。我们需要确保它的发展是安全和有益的，并且对所有人都公平。',
  '日本語のテキスト：東京は日本の首都です。カタカナとひらがなを混ぜる。',
  '한국어 텍스트도 포함됩니다. Русский текст. Ελληνικά. العربية. עברית. हिन्दी भाषा. ภาษาไทย',
  '👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🇻🇳🇯🇵 ❤️ 👍🏿 🧑‍🤝‍🧑 😀😃😄😁 🫠',
  'function add(a: number, b: number): number {\n  return a + b; // sum\n}\n\tconst x = [1, 2, 3].map((v) => v ** 2);\r\n',
  'def f(x):\n    if x > 0:\n        return x\n    return -x\n\n\n\nclass A:\n    pass\n',
  '{"model":"gpt-4o","messages":[{"role":"user","content":"hi \\u00e9 \\n"}],"temperature":0.7,"max_tokens":1024}',
  '31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679',
  '1,234,567.89 1e-10 0x1F 2026-12-08T00:39:14Z 192.168.0.1 +44 20 7946 0958',
  '   leading and trailing   \t\t  \n\n\n   \r\n\r\n \u00a0\u3000\u2003 x  ',
  ' '.repeat(1000),
  '\n'.repeat(300) + ' '.repeat(300) + '\t'.repeat(300),
  '<|endoftext|> <|im_start|>system<|im_sep|>You are helpful<|im_end|><|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>',
  'lone high \ud800 and low \udc00 surrogates, reversed \udc00\ud800, at end \ud83d',
  '\ud800',
  '\udfff\udfff\udfff',
  '\ufeff',
  '\ufeffusing namespace std;',
  '\ufeff\ufeff\n\n\ufeff//\ufeff#\ufeff출장안마',
  'a\ufeffb \ufeff\ufeff\ufeff',
  // gpt-tokenizer drops a leading BOM when it looks up a merged pair, so these merge through other tokens' ranks.
  '\ufeff名单 \ufeff名稱',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '=-'.repeat(500),
  'x'.repeat(5000),
  'ab'.repeat(3000),
  '中文'.repeat(2500),
  '🙂'.repeat(1500),
  'https://example.com/path/to/resource?query=value&other=1#fragment /usr/local/bin/// C:\\Windows\\System32',
  'SELECT id, name FROM users WHERE email LIKE \'%@example.com\' ORDER BY created_at DESC LIMIT 10;',
  'ALLCAPSWORDS AND MixedCaseWords camelCaseIdentifier snake_case_identifier kebab-case-identifier',
  '\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f\u0085\u2028\u2029',
];

// Alphabets the random strings draw from, weighted to produce both common and awkward pieces.
const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  '0123456789',
  ' ',
  '  \t\n\r\u00a0\u3000',
  '.,;:!?\'"()[]{}<>/\\|@#$%^&*-_=+`~',
  'àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ',
  '\u0300\u0301\u0303\u0309\u0323\u0308\u20dd',
  '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里',
  'あいうえおかきくけこアイウエオカキクケコ',
  'абвгдеёжзийклмнопрстуфхцчшщъыьэюя',
  'αβγδεζηθικλμνξοπρστυφχψω',
  'ابتثجحخدذرزسشصضطظعغفقكلمنهوي',
  '\u200d\ufe0f\ufeff\u200b',
];
const EMOJI = ['😀', '👍', '🏽', '👨', '👩', '👧', '🏳', '🌈', '🇻', '🇳', '🧑', '🤝', '🫠', '💻'];
const WORDS = ["don't", "It's", 'token', 'Tollgate', 'gateway', '<|endoftext|>', '<|im_start|>', 'xin chào', '你好', '\r\n', '    ', '1234567'];

function randomString(next: () => number): string {
  const length = Math.floor(next() * next() * 200);
  let text = '';
  while (text.length < length) {
    const pick = next();
    if (pick < 0.55) {
      const alphabet = ALPHABETS[Math.floor(next() * ALPHABETS.length)]!;
      const run = 1 + Math.floor(next() * 8);
      for (let i = 0; i < run; i++) text += alphabet[Math.floor(next() * alphabet.length)];
    } else if (pick < 0.7) {
      text += WORDS[Math.floor(next() * WORDS.length)];
    } else if (pick < 0.82) {
      text += EMOJI[Math.floor(next() * EMOJI.length)];
    } else if (pick < 0.9) {
      // Any UTF-16 code unit, lone surrogates included.
      text += String.fromCharCode(Math.floor(next() * 0x10000));
    } else if (pick < 0.97) {
      // Any code point outside the surrogate range (clearing bit 11 moves D800-DFFF to D000-D7FF).
      text += String.fromCodePoint(Math.floor(next() * 0x110000) & ~0x800);
    } else {
      // A long run: pieces past the short-piece merge path.
      const unit = ALPHABETS[Math.floor(next() * ALPHABETS.length)]!.slice(0, 1 + Math.floor(next() * 3));
      text += unit.repeat(20 + Math.floor(next() * 200));
    }
  }
  return text;
}

/** ASCII-heavy strings: the cases the hand-written split decides (contractions, case runs, whitespace before text). */
const ASCII_PARTS = ['a', 'Z', 'ab', 'AB', 'Ab', 'aB', '1', '12', '1234', ' ', '  ', '\t', '\n', '\r\n', '\v', '\f', ' \n ', '.', '!?', '/', '//\n', "'", "'s", "'S", "'ll", "'Ll", "'ve", "'RE", "'d", "'x", '\u0000', '\u001f', '\u007f', 'é', '\u00a0', '\u3000', '٣', '²', '—', '\u0301', 'ǅ', 'ʰ'];

function asciiHeavyString(next: () => number): string {
  let text = '';
  const parts = 1 + Math.floor(next() * 24);
  for (let i = 0; i < parts; i++) text += ASCII_PARTS[Math.floor(next() * ASCII_PARTS.length)];
  return text;
}

function regexPieces(text: string): string[] {
  return [...text.matchAll(new RegExp(O200K_SPLIT_PATTERN, 'gu'))].map((match) => match[0]);
}

function scannedPieces(text: string): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    const end = pieceEnd(text, start);
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

describe('o200k_base pre-tokenization split', () => {
  it('cuts the same pieces as the o200k_base expression, on ASCII-heavy and on random strings', () => {
    const next = seededRandom(7);
    for (let i = 0; i < 20_000; i++) {
      const text = i % 2 ? asciiHeavyString(next) : randomString(next);
      expect(scannedPieces(text), JSON.stringify(text)).toEqual(regexPieces(text));
    }
    for (const text of FIXED_CORPUS) expect(scannedPieces(text)).toEqual(regexPieces(text));
  });
});

describe('o200k_base token counter', () => {
  /** Every token of gpt-tokenizer's own vocabulary is found at its rank (but those it can never produce). */
  function expectFindsTheVocabulary(ranks: O200kRanks): void {
    expect(ranks.tokenCount).toBe(bpeRanks.length);
    const encoder = new TextEncoder();
    let unreachable = 0;
    let wrong = 0;
    for (let rank = 0; rank < bpeRanks.length; rank++) {
      const token = bpeRanks[rank]!;
      const bytes = typeof token === 'string' ? encoder.encode(token) : Uint8Array.from(token);
      const found = ranks.rank(bytes, 0, bytes.length);
      // The 9 tokens that start with a byte order mark are never produced by gpt-tokenizer (see o200k-count.ts).
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        if (found !== -1) wrong++;
        unreachable++;
      } else if (found !== rank) {
        wrong++;
      }
    }
    expect(wrong).toBe(0);
    expect(unreachable).toBe(9);
    expect(ranks.rank(encoder.encode('not-a-token-at-all-xyzzy'), 0, 24)).toBe(-1);
  }

  it('builds the table from the rank file and finds every token by its bytes, as gpt-tokenizer does', () => {
    expectFindsTheVocabulary(rankLookup(rankTableFromTiktokenFile()));
  });

  it('writes the table as a binary that reads back to the same table, and refuses a damaged one', () => {
    const table = rankTableFromTiktokenFile();
    const file = encodeRankTable(table);
    const decoded = decodeRankTable(file);
    expect(decoded.offsets).toEqual(table.offsets);
    expect(decoded.slots).toEqual(table.slots);
    expect(decoded.vocab).toEqual(table.vocab);
    expectFindsTheVocabulary(rankLookup(decoded));
    // A copy at an odd offset (as a pooled Buffer could be) still reads.
    const unaligned = new Uint8Array(file.length + 1).subarray(1);
    unaligned.set(file);
    expect(decodeRankTable(unaligned).vocab).toEqual(table.vocab);
    expect(() => decodeRankTable(file.subarray(0, file.length - 1))).toThrow(/truncated or corrupt/);
    const renamed = file.slice();
    renamed[0] = 0x78;
    expect(() => decodeRankTable(renamed)).toThrow(/not a rank table/);
  });

  it('loads the ranks the counter uses (the generated binary, or the rank file without one)', () => {
    expectFindsTheVocabulary(o200kRanks());
  });

  it('refuses a rank file whose ranks are not in line order', () => {
    const file = readFileSync(fileURLToPath(import.meta.resolve('gpt-tokenizer/data/o200k_base.tiktoken')));
    const lines = file.toString('latin1').split('\n').slice(0, 3);
    const swapped = Buffer.from(`${lines[1]}\n${lines[0]}\n`, 'latin1');
    expect(() => parseTiktokenRanks(readerOf(swapped))).toThrow(/rank 1; expected 0/);
  });

  it('counts a fixed corpus (scripts, emoji, code, JSON, digits, whitespace, markers, lone surrogates, BOMs) exactly as gpt-tokenizer', () => {
    for (const text of FIXED_CORPUS) expect({ text, count: countO200kTokens(text) }).toEqual({ text, count: reference(text) });
  });

  it('counts 4,000 seeded random strings exactly as gpt-tokenizer', () => {
    const next = seededRandom(20261208);
    let mismatches = 0;
    const firstMismatches: Array<{ text: string; ours: number; reference: number }> = [];
    for (let i = 0; i < 4000; i++) {
      const text = i % 4 === 3 ? asciiHeavyString(next) : randomString(next);
      const ours = countO200kTokens(text);
      const expected = reference(text);
      if (ours !== expected) {
        mismatches++;
        if (firstMismatches.length < 5) firstMismatches.push({ text, ours, reference: expected });
      }
    }
    expect(firstMismatches).toEqual([]);
    expect(mismatches).toBe(0);
  });

  it('counts one long mixed document exactly as gpt-tokenizer', () => {
    const text = FIXED_CORPUS.join('\n').repeat(3);
    expect(countO200kTokens(text)).toBe(reference(text));
  });
});
