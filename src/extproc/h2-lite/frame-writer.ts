import type { Socket } from 'node:net';
import { FRAME_HEADER_LENGTH } from './frames.ts';

const INITIAL_SCRATCH = 16 * 1024;
/** A scratch buffer grown past this (a burst of large DATA) is dropped after its flush instead of kept forever. */
const KEEP_SCRATCH_UP_TO = 256 * 1024;

/**
 * Collects every frame written to one connection during one turn of the event loop and sends them in ONE socket
 * write: on this VM a loopback write costs tens of µs, far more than building the frames. Frames are serialised
 * straight into a reused scratch buffer (no per-frame Buffer objects); the flush copies the used part into a fresh
 * buffer (from Node's pool when small) because the socket keeps what it is given until the write completes.
 */
export class FrameWriter {
  private scratch = Buffer.allocUnsafe(INITIAL_SCRATCH);
  private length = 0;
  private scheduled = false;
  private readonly socket: Socket;
  private readonly flushNow = () => this.flush();

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** A frame whose payload is src[start, end) (copied now, so src may be reused by the caller). */
  frame(type: number, flags: number, streamId: number, src: Buffer | null, start = 0, end = src ? src.length : 0): void {
    const at = this.header(type, flags, streamId, end - start);
    if (src !== null && end > start) src.copy(this.scratch, at, start, end);
    this.length = at + end - start;
  }

  /** A frame whose payload is one 32-bit integer (RST_STREAM, WINDOW_UPDATE). */
  frameUInt32(type: number, flags: number, streamId: number, value: number): void {
    const at = this.header(type, flags, streamId, 4);
    this.scratch.writeUInt32BE(value >>> 0, at);
    this.length = at + 4;
  }

  /** GOAWAY: last stream id, error code. */
  goAway(lastStreamId: number, code: number): void {
    const at = this.header(0x7, 0, 0, 8);
    this.scratch.writeUInt32BE(lastStreamId & 0x7fff_ffff, at);
    this.scratch.writeUInt32BE(code, at + 4);
    this.length = at + 8;
  }

  /** SETTINGS with the given (id, value) pairs. */
  settings(pairs: ReadonlyArray<readonly [number, number]>): void {
    let at = this.header(0x4, 0, 0, pairs.length * 6);
    for (const [id, value] of pairs) {
      this.scratch.writeUInt16BE(id, at);
      this.scratch.writeUInt32BE(value, at + 2);
      at += 6;
    }
    this.length = at;
  }

  /** Sends what is collected now instead of at the end of the turn (before closing the socket). */
  flush(): void {
    this.scheduled = false;
    if (this.length === 0) return;
    const out = Buffer.allocUnsafe(this.length);
    this.scratch.copy(out, 0, 0, this.length);
    this.length = 0;
    if (this.scratch.length > KEEP_SCRATCH_UP_TO) this.scratch = Buffer.allocUnsafe(INITIAL_SCRATCH);
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(out);
  }

  /** Writes a frame header, making room for the payload; returns where the payload goes. */
  private header(type: number, flags: number, streamId: number, payloadLength: number): number {
    const at = this.length;
    this.reserve(at + FRAME_HEADER_LENGTH + payloadLength);
    const s = this.scratch;
    s[at] = payloadLength >>> 16;
    s[at + 1] = (payloadLength >>> 8) & 0xff;
    s[at + 2] = payloadLength & 0xff;
    s[at + 3] = type;
    s[at + 4] = flags;
    s.writeUInt32BE(streamId & 0x7fff_ffff, at + 5);
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate runs after this poll phase: all reads handled in it, and the microtasks their handlers queued,
      // have written their frames by then.
      setImmediate(this.flushNow);
    }
    return at + FRAME_HEADER_LENGTH;
  }

  private reserve(size: number): void {
    if (size <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(size, this.scratch.length * 2));
    this.scratch.copy(grown, 0, 0, this.length);
    this.scratch = grown;
  }
}
