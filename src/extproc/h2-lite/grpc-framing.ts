/**
 * gRPC's length-prefixed messages (gRPC over HTTP/2 spec): 1 byte compressed flag, 4 bytes big-endian length, then
 * the message. They are independent of DATA frame boundaries: one frame can carry several, one message can span many.
 */
export const MESSAGE_PREFIX_LENGTH = 5;

/** The message with its 5-byte prefix, in one buffer (one DATA payload, or split by the HTTP/2 layer). */
export function frameMessage(payload: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(MESSAGE_PREFIX_LENGTH + payload.length);
  framed[0] = 0;
  framed.writeUInt32BE(payload.length, 1);
  payload.copy(framed, MESSAGE_PREFIX_LENGTH);
  return framed;
}

/**
 * Reassembles messages from DATA payloads. A message wholly inside one payload is handed over as a subarray (no
 * copy); one that spans payloads is copied once into a buffer of its final size (not re-concatenated per frame).
 */
export class GrpcMessageReader {
  /** Prefix bytes of the next message when a payload ended inside them. */
  private prefix: Buffer | null = null;
  /** The message being assembled, and how much of it has arrived. */
  private message: Buffer | null = null;
  private filled = 0;
  private readonly maxMessageLength: number;
  private readonly onMessage: (message: Buffer) => void;

  constructor(onMessage: (message: Buffer) => void, maxMessageLength: number) {
    this.onMessage = onMessage;
    this.maxMessageLength = maxMessageLength;
  }

  /** True when the stream ended between messages (no partial message left). */
  get idle(): boolean {
    return this.prefix === null && this.message === null;
  }

  /** Throws on a compressed message (we never accept compression) or one over the size limit. */
  push(chunk: Buffer): void {
    let pos = 0;
    if (this.message !== null) {
      pos = this.fill(chunk, 0);
      if (this.message !== null) return;
    } else if (this.prefix !== null) {
      const prefix = Buffer.concat([this.prefix, chunk.subarray(0, MESSAGE_PREFIX_LENGTH - this.prefix.length)]);
      pos = prefix.length - this.prefix.length;
      if (prefix.length < MESSAGE_PREFIX_LENGTH) {
        this.prefix = prefix;
        return;
      }
      this.prefix = null;
      this.message = Buffer.allocUnsafe(this.lengthAt(prefix, 0));
      this.filled = 0;
      pos = this.fill(chunk, pos);
      if (this.message !== null) return;
    }
    while (chunk.length - pos >= MESSAGE_PREFIX_LENGTH) {
      const length = this.lengthAt(chunk, pos);
      const start = pos + MESSAGE_PREFIX_LENGTH;
      if (chunk.length - start >= length) {
        pos = start + length;
        this.onMessage(chunk.subarray(start, pos));
        continue;
      }
      this.message = Buffer.allocUnsafe(length);
      this.filled = 0;
      this.fill(chunk, start);
      return;
    }
    if (pos < chunk.length) this.prefix = Buffer.from(chunk.subarray(pos));
  }

  private lengthAt(buf: Buffer, at: number): number {
    if (buf[at] !== 0) throw new Error('compressed gRPC message, but no compression was negotiated');
    const length = buf.readUInt32BE(at + 1);
    if (length > this.maxMessageLength) throw new Error(`gRPC message of ${length} bytes exceeds ${this.maxMessageLength}`);
    return length;
  }

  /** Copies from chunk[pos…] into the message being assembled; hands it over when whole. Returns the new pos. */
  private fill(chunk: Buffer, pos: number): number {
    const message = this.message as Buffer;
    const n = Math.min(message.length - this.filled, chunk.length - pos);
    chunk.copy(message, this.filled, pos, pos + n);
    this.filled += n;
    if (this.filled === message.length) {
      this.message = null;
      this.onMessage(message);
    }
    return pos + n;
  }
}
