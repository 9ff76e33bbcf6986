/**
 * The protobuf wire format, as much of it as the ext_proc messages use: varints, doubles and length-delimited fields
 * (proto3, field numbers < 16). The generic codec (protobufjs through proto-loader) stays the reference: the tests
 * check both agree on every message shape Tollgate reads or writes.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** Reads fields from a message in place: nested messages narrow `end`; strings and bytes are read without copies. */
export class WireReader {
  readonly buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  /** The next field's tag: field number << 3 | wire type. */
  tag(): number {
    return this.varint();
  }

  varint(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const byte = buf[this.pos++] as number;
      // Past 28 bits, multiply: << would overflow a 32-bit int. Values beyond 2^53 lose precision (never used here).
      result += shift < 28 ? (byte & 0x7f) << shift : (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new Error('protobuf: varint too long');
    }
  }

  /** A length-delimited field's extent; the caller reads [start, end) and sets pos = end. */
  delimited(): { start: number; end: number } {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new Error('protobuf: length-delimited field beyond its message');
    this.pos = end;
    return { start, end };
  }

  /** Length-delimited bytes as a view into the message (like protobufjs' Reader.bytes on a Buffer). */
  bytes(): Buffer {
    const { start, end } = this.delimited();
    return this.buf.subarray(start, end);
  }

  string(): string {
    const { start, end } = this.delimited();
    return this.buf.toString('utf8', start, end);
  }

  latin1(): string {
    const { start, end } = this.delimited();
    return this.buf.toString('latin1', start, end);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new Error('protobuf: truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LENGTH_DELIMITED:
        this.delimited();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new Error(`protobuf: unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new Error('protobuf: field beyond its message');
  }
}

export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  return 5; // lengths and enums here stay below 2^32
}

/** A length-delimited field of `length` bytes, tag included (field numbers < 16: a one-byte tag). */
export function delimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Writes into a buffer sized beforehand (the encoder computes every message's size first: no copies, no growth). */
export class WireWriter {
  readonly buf: Buffer;
  pos: number;

  constructor(buf: Buffer, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  varint(value: number): void {
    const buf = this.buf;
    while (value >= 0x80) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[this.pos++] = value;
  }

  /** Tag and length of a length-delimited field; its content follows. */
  delimited(field: number, length: number): void {
    this.buf[this.pos++] = (field << 3) | WIRE_LENGTH_DELIMITED;
    this.varint(length);
  }

  varintField(field: number, value: number): void {
    this.buf[this.pos++] = (field << 3) | WIRE_VARINT;
    this.varint(value);
  }

  utf8Field(field: number, value: string, byteLength: number): void {
    this.delimited(field, byteLength);
    this.pos += this.buf.write(value, this.pos, byteLength, 'utf8');
  }

  latin1Field(field: number, value: string): void {
    this.delimited(field, value.length);
    this.pos += this.buf.write(value, this.pos, value.length, 'latin1');
  }

  bytesField(field: number, value: Uint8Array): void {
    this.delimited(field, value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }
}
