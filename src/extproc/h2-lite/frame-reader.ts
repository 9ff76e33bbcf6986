import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, ErrorCode, FRAME_HEADER_LENGTH } from './frames.ts';

/** Receives the frames a FrameReader cuts out of the byte stream. */
export interface FrameSink {
  /**
   * One whole frame; its payload is buf[start, end). The buffer is a socket read (or a copy of a frame that straddled
   * reads) and is never reused, so the sink may keep subarrays of it.
   */
  frame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void;
  /** The peer broke the framing itself (wrong preface, frame larger than we allow): a connection error. */
  framingError(code: number, message: string): void;
}

/**
 * Cuts a server-side HTTP/2 byte stream into frames: checks the client preface, then hands over each complete frame
 * in place (offsets into the socket's own buffer; no per-frame copies or objects). Only a frame that straddles two
 * socket reads is copied, and only its own bytes.
 */
export class FrameReader {
  /** Our SETTINGS_MAX_FRAME_SIZE: a larger frame is a FRAME_SIZE_ERROR before it is even buffered. */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private prefaceSeen = 0;
  /** The start of a frame whose rest has not arrived yet. */
  private partial: Buffer | null = null;
  private stopped = false;
  private readonly sink: FrameSink;

  constructor(sink: FrameSink) {
    this.sink = sink;
  }

  /** Ignore all further input (after a connection error). */
  stop(): void {
    this.stopped = true;
    this.partial = null;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let pos = 0;
    if (this.prefaceSeen < CLIENT_PREFACE.length) {
      pos = this.matchPreface(chunk);
      if (pos < 0) return;
    }
    if (this.partial !== null) {
      pos = this.completePartial(chunk, pos);
      if (pos < 0) return;
    }
    this.parse(chunk, pos);
  }

  /** Returns where frames start in chunk, or -1 when the chunk was all preface (or the preface was wrong). */
  private matchPreface(chunk: Buffer): number {
    const want = CLIENT_PREFACE.length - this.prefaceSeen;
    const n = Math.min(want, chunk.length);
    if (CLIENT_PREFACE.compare(chunk, 0, n, this.prefaceSeen, this.prefaceSeen + n) !== 0) {
      this.stop();
      this.sink.framingError(ErrorCode.PROTOCOL_ERROR, 'bad connection preface');
      return -1;
    }
    this.prefaceSeen += n;
    return n === chunk.length ? -1 : n;
  }

  /** Adds bytes from chunk to the straddling frame; dispatches it when whole. Returns where the rest starts, or -1. */
  private completePartial(chunk: Buffer, pos: number): number {
    let partial = this.partial as Buffer;
    if (partial.length < FRAME_HEADER_LENGTH) {
      // Even the frame header is split: first complete the header to learn the frame's length.
      const take = Math.min(FRAME_HEADER_LENGTH - partial.length, chunk.length - pos);
      partial = Buffer.concat([partial, chunk.subarray(pos, pos + take)]);
      pos += take;
      if (partial.length < FRAME_HEADER_LENGTH) {
        this.partial = partial;
        return -1;
      }
      if (!this.checkLength(partial.readUIntBE(0, 3))) return -1;
    }
    const total = FRAME_HEADER_LENGTH + partial.readUIntBE(0, 3);
    const take = Math.min(total - partial.length, chunk.length - pos);
    if (take > 0) partial = Buffer.concat([partial, chunk.subarray(pos, pos + take)]);
    pos += take;
    if (partial.length < total) {
      this.partial = partial;
      return -1;
    }
    this.partial = null;
    this.dispatch(partial, 0, total);
    return this.stopped ? -1 : pos;
  }

  private parse(buf: Buffer, pos: number): void {
    while (!this.stopped) {
      const left = buf.length - pos;
      if (left < FRAME_HEADER_LENGTH) break;
      const length = buf.readUIntBE(pos, 3);
      if (!this.checkLength(length)) return;
      if (left < FRAME_HEADER_LENGTH + length) break;
      this.dispatch(buf, pos, pos + FRAME_HEADER_LENGTH + length);
      pos += FRAME_HEADER_LENGTH + length;
    }
    if (!this.stopped && pos < buf.length) this.partial = buf.subarray(pos);
  }

  private checkLength(length: number): boolean {
    if (length <= this.maxFrameSize) return true;
    this.stop();
    this.sink.framingError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds ${this.maxFrameSize}`);
    return false;
  }

  private dispatch(buf: Buffer, start: number, end: number): void {
    const streamId = buf.readUInt32BE(start + 5) & 0x7fff_ffff;
    this.sink.frame(buf[start + 3] as number, buf[start + 4] as number, streamId, buf, start + FRAME_HEADER_LENGTH, end);
  }
}
