import { createRequire } from 'node:module';
import { DEFAULT_HEADER_TABLE_SIZE } from './frames.ts';

/**
 * HPACK (RFC 7541) for the h2-lite server.
 *
 * Decoding uses hpack.js (the HPACK code of the spdy/http2 stack, pinned in package.json) for the parts worth not
 * writing by hand: the Huffman code, integer/string primitives, the static and dynamic tables. Its Decompressor
 * class is a readable-stream Duplex that emits one object per header; that machinery is skipped here and the field
 * representations are dispatched directly on its Decoder and Table (the same steps as Decompressor._execute).
 *
 * Encoding needs no library: our few response header blocks are constants, encoded once as literals without
 * indexing, so we never touch the peer's dynamic table and keep no encoder state.
 */

interface HpackDecoder {
  push(chunk: Buffer): void;
  isEmpty(): boolean;
  decodeBit(): number;
  decodeInt(): number;
  /** The raw octets (a Buffer) or, for Huffman strings, an array of decoded octets. */
  decodeStr(): Buffer | number[];
}
interface HpackEntry { name: string; value: string; nameSize: number }
interface HpackTable {
  lookup(index: number): HpackEntry;
  add(name: string, value: string, nameSize: number, valueSize: number): void;
  updateSize(size: number): void;
}
interface HpackModule {
  decoder: { create(): HpackDecoder };
  table: { create(options: { maxSize: number }): HpackTable };
}

const hpack = createRequire(import.meta.url)('hpack.js') as HpackModule;

/** Header names and values are octets; like Node's HTTP/2, each octet becomes one character. */
function octetsToString(octets: Buffer | number[]): string {
  if (Buffer.isBuffer(octets)) return octets.toString('latin1');
  let text = '';
  for (let i = 0; i < octets.length; i++) text += String.fromCharCode(octets[i] as number);
  return text;
}

/**
 * One connection's HPACK decoding context (the dynamic table lives as long as the connection). Every header block
 * the peer sends must go through decode(), in order, even for streams we refuse, or the tables drift apart.
 */
export class HeaderBlockDecoder {
  private readonly table = hpack.table.create({ maxSize: DEFAULT_HEADER_TABLE_SIZE });
  private decoder = hpack.decoder.create();

  /**
   * Returns the fields as a flat [name, value, name, value, …] list. Throws on a malformed block: the caller must
   * then fail the connection with COMPRESSION_ERROR (the table state is lost).
   */
  decode(block: Buffer): string[] {
    const fields: string[] = [];
    const decoder = this.decoder;
    try {
      decoder.push(block);
      while (!decoder.isEmpty()) {
        if (decoder.decodeBit()) {
          // Indexed field (RFC 7541 §6.1).
          const entry = this.table.lookup(decoder.decodeInt());
          fields.push(entry.name, entry.value);
          continue;
        }
        const incremental = decoder.decodeBit();
        if (!incremental) {
          if (decoder.decodeBit()) {
            // Dynamic table size update (§6.3); the table refuses sizes above the SETTINGS value.
            this.table.updateSize(decoder.decodeInt());
            continue;
          }
          decoder.decodeBit(); // never-indexed flag: matters only to intermediaries that re-encode
        }
        // Literal field, with or without indexing (§6.2).
        const index = decoder.decodeInt();
        let name: string;
        let nameSize: number;
        if (index === 0) {
          const octets = decoder.decodeStr();
          nameSize = octets.length;
          name = octetsToString(octets);
        } else {
          const entry = this.table.lookup(index);
          name = entry.name;
          nameSize = entry.nameSize;
        }
        const valueOctets = decoder.decodeStr();
        const value = octetsToString(valueOctets);
        if (incremental) this.table.add(name, value, nameSize, valueOctets.length);
        fields.push(name, value);
      }
    } catch (error) {
      this.decoder = hpack.decoder.create();
      throw error;
    }
    return fields;
  }
}

/** The value of the first field called `name` in a flat list from HeaderBlockDecoder.decode. */
export function headerValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** HPACK integer with an n-bit prefix (§5.1); `first` holds the representation's pattern bits. */
function encodeInt(out: number[], first: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
}

function encodeString(out: number[], text: string): void {
  const octets = Buffer.from(text, 'latin1');
  encodeInt(out, 0x00, 7, octets.length); // H bit 0: raw octets, no Huffman
  for (const octet of octets) out.push(octet);
}

/** Static table index 8 is `:status: 200` (RFC 7541 Appendix A). */
const STATUS_200_INDEXED = 0x80 | 8;

/**
 * Encodes a constant header block. `:status: 200` is one indexed byte; every other field is a literal without
 * indexing with a literal name (§6.2.2), which changes no table on either side.
 */
export function encodeHeaderBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    if (name === ':status' && value === '200') {
      out.push(STATUS_200_INDEXED);
      continue;
    }
    out.push(0x00);
    encodeString(out, name);
    encodeString(out, value);
  }
  return Buffer.from(out);
}
