import type { Socket } from 'node:net';
import { FrameReader, type FrameSink } from './frame-reader.ts';
import { FrameWriter } from './frame-writer.ts';
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  Flag,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  Setting,
} from './frames.ts';
import { HeaderBlockDecoder } from './hpack.ts';

/** What the application does with one stream's input. Every callback runs synchronously from the socket read. */
export interface StreamEvents {
  /** A DATA payload (padding removed); may be a subarray of the socket's read buffer. */
  data(chunk: Buffer): void;
  /** The peer half-closed the stream (END_STREAM). */
  end(): void;
  /** The stream is gone: completed both ways, reset by either side, or the connection closed. Called once. */
  closed(): void;
}

export interface ConnectionOptions {
  /** A new stream with its decoded request header fields (flat name/value list); returns what handles its input. */
  onStream(stream: H2Stream, fields: string[]): StreamEvents;
  /** Called once when the connection is finished (socket closed). */
  onClose?(): void;
  /** Protocol errors are reported here (the connection is already being closed with GOAWAY). */
  onError?(error: Error): void;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE: how much each stream may send us before we replenish. */
  streamWindow?: number;
  /** Our connection receive window. */
  connectionWindow?: number;
  maxConcurrentStreams?: number;
}

const DEFAULT_STREAM_WINDOW = 4 * 1024 * 1024;
const DEFAULT_CONNECTION_WINDOW = 16 * 1024 * 1024;
const DEFAULT_MAX_CONCURRENT_STREAMS = 100_000;
/** Header blocks (HEADERS + CONTINUATION) larger than this are refused: Envoy's are a few hundred bytes. */
const MAX_HEADER_BLOCK = 256 * 1024;
/** Opaque data of the PING that follows our first (shutdown notice) GOAWAY. */
const SHUTDOWN_PING = Buffer.from('tgdrain!', 'latin1');

/**
 * One server-side HTTP/2 stream. The application writes through it; the connection owns its state.
 */
export class H2Stream {
  readonly id: number;
  /** How much DATA we may still send (the peer's window for this stream); can go negative after SETTINGS. */
  sendWindow: number;
  /** How much the peer may still send us on this stream before our next WINDOW_UPDATE. */
  recvWindow: number;
  /** DATA received since our last WINDOW_UPDATE for this stream. */
  recvUnacked = 0;
  remoteEnded = false;
  /** We sent END_STREAM, or it is queued behind DATA waiting for window. */
  localEnded = false;
  isClosed = false;
  events: StreamEvents | null = null;
  /** DATA waiting for flow-control window, and how much of the first buffer is already sent. */
  queue: Buffer[] | null = null;
  queueOffset = 0;
  /** Trailers to send once the queue is empty. */
  pendingTrailers: Buffer | null = null;
  private readonly connection: H2Connection;

  constructor(connection: H2Connection, id: number, sendWindow: number, recvWindow: number) {
    this.connection = connection;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Response HEADERS without END_STREAM (headerBlock: HPACK-encoded, smaller than a frame). */
  respond(headerBlock: Buffer): void {
    if (!this.localEnded && !this.isClosed) this.connection.sendHeaders(this, headerBlock, false);
  }

  /** DATA, split by frame size and held back by flow control as needed. `data` must not be modified afterwards. */
  write(data: Buffer): void {
    if (!this.localEnded && !this.isClosed) this.connection.sendData(this, data);
  }

  /** Trailers (or a trailers-only response) with END_STREAM, after any queued DATA. */
  end(headerBlock: Buffer): void {
    if (this.localEnded || this.isClosed) return;
    this.localEnded = true;
    if (this.queue !== null) this.pendingTrailers = headerBlock;
    else this.connection.sendHeaders(this, headerBlock, true);
  }

  /** RST_STREAM: abandons the stream both ways. */
  reset(code: number): void {
    if (!this.isClosed) this.connection.resetStream(this, code);
  }
}

/**
 * The HTTP/2 connection state machine for one socket, server side, for gRPC from Envoy: SETTINGS, PING, flow control
 * both ways, GOAWAY both ways, RST_STREAM, HEADERS + CONTINUATION, DATA with padding. No server push, no priorities
 * (PRIORITY is accepted and ignored), no HTTP semantics beyond handing the decoded header fields to the application.
 */
export class H2Connection implements FrameSink {
  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly hpack = new HeaderBlockDecoder();
  private readonly options: ConnectionOptions;
  private readonly streams = new Map<number, H2Stream>();
  /** Streams with queued DATA that wait for the connection window (not their own). */
  private readonly blocked = new Set<H2Stream>();
  private readonly localStreamWindow: number;
  private readonly localConnectionWindow: number;
  private readonly maxConcurrentStreams: number;

  /** Peer settings that shape what we send. */
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private sendWindow = DEFAULT_WINDOW_SIZE;
  private recvWindow: number;
  private recvUnacked = 0;
  /** The highest stream id the peer opened (every lower odd id is open or closed, never idle). */
  private lastStreamId = 0;
  private sawSettings = false;
  /** A header block being continued: its stream, END_STREAM flag, fragments so far. */
  private continuation: { streamId: number; endStream: boolean; fragments: Buffer[]; size: number } | null = null;
  /** We sent the final GOAWAY: new streams are refused, the socket ends when the last stream closes. */
  private goingAway = false;
  private peerGoingAway = false;
  private dead = false;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.localStreamWindow = options.streamWindow ?? DEFAULT_STREAM_WINDOW;
    this.localConnectionWindow = options.connectionWindow ?? DEFAULT_CONNECTION_WINDOW;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
    this.recvWindow = this.localConnectionWindow;
    this.reader = new FrameReader(this);
    this.writer = new FrameWriter(socket);

    // Server preface: our SETTINGS may go out before the client's preface arrives.
    this.writer.settings([
      [Setting.MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, this.localStreamWindow],
    ]);
    if (this.localConnectionWindow > DEFAULT_WINDOW_SIZE) {
      this.writer.frameUInt32(FrameType.WINDOW_UPDATE, 0, 0, this.localConnectionWindow - DEFAULT_WINDOW_SIZE);
    }

    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => {}); // followed by 'close'; the streams learn it there
    socket.on('end', () => this.peerEnded());
    socket.on('close', () => this.socketClosed());
  }

  /**
   * Graceful shutdown (RFC 9113 §6.8): a GOAWAY with the largest stream id tells the peer to open no more streams;
   * after one round trip (our PING's ACK) the real GOAWAY names the last stream we accept, so streams the peer opened
   * meanwhile still count. The socket ends when the last stream closes.
   */
  shutdown(): void {
    if (this.dead || this.goingAway) return;
    this.writer.goAway(MAX_WINDOW_SIZE, ErrorCode.NO_ERROR);
    this.writer.frame(FrameType.PING, 0, 0, SHUTDOWN_PING);
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- FrameSink ----

  frame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (this.continuation !== null && type !== FrameType.CONTINUATION) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted by another frame');
    }
    if (!this.sawSettings && type !== FrameType.SETTINGS) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'first frame is not SETTINGS');
    }
    switch (type) {
      case FrameType.DATA: return this.onData(flags, streamId, buf, start, end);
      case FrameType.HEADERS: return this.onHeaders(flags, streamId, buf, start, end);
      case FrameType.PRIORITY: return this.onPriority(streamId, start, end);
      case FrameType.RST_STREAM: return this.onRstStream(streamId, start, end);
      case FrameType.SETTINGS: return this.onSettings(flags, streamId, buf, start, end);
      case FrameType.PUSH_PROMISE: return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING: return this.onPing(flags, streamId, buf, start, end);
      case FrameType.GOAWAY: return this.onGoAway(streamId, start, end);
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(streamId, buf, start, end);
      case FrameType.CONTINUATION: return this.onContinuation(flags, streamId, buf, start, end);
      default: return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  framingError(code: number, message: string): void {
    this.connectionError(code, message);
  }

  // ---- incoming frames ----

  private onData(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const frameLength = end - start;
    // Flow control counts the whole payload, padding included.
    this.recvWindow -= frameLength;
    if (this.recvWindow < 0) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection receive window exceeded');
    // DATA is consumed as soon as it is read (handed to the stream's reader), so the window is replenished at once,
    // in one WINDOW_UPDATE per half window rather than one per frame.
    this.recvUnacked += frameLength;
    if (this.recvUnacked >= this.localConnectionWindow / 2) {
      this.writer.frameUInt32(FrameType.WINDOW_UPDATE, 0, 0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    if (flags & Flag.PADDED) {
      if (frameLength < 1) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'PADDED DATA without pad length');
      const padLength = buf[start] as number;
      if (padLength >= frameLength) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA padding exceeds payload');
      start += 1;
      end -= padLength;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      return; // a stream we closed (e.g. reset) while the peer was still sending: dropped, window already counted
    }
    if (stream.remoteEnded) return this.resetStream(stream, ErrorCode.STREAM_CLOSED);
    stream.recvWindow -= frameLength;
    if (stream.recvWindow < 0) return this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (!endStream) {
      stream.recvUnacked += frameLength;
      if (stream.recvUnacked >= this.localStreamWindow / 2) {
        this.writer.frameUInt32(FrameType.WINDOW_UPDATE, 0, streamId, stream.recvUnacked);
        stream.recvWindow += stream.recvUnacked;
        stream.recvUnacked = 0;
      }
    }
    if (end > start) (stream.events as StreamEvents).data(buf.subarray(start, end));
    if (endStream && !stream.isClosed) this.remoteEnd(stream);
  }

  private onHeaders(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    if (flags & Flag.PADDED) {
      if (end - start < 1) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'PADDED HEADERS without pad length');
      const padLength = buf[start] as number;
      start += 1;
      if (padLength > end - start) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding exceeds payload');
      end -= padLength;
    }
    if (flags & Flag.PRIORITY) {
      if (end - start < 5) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority block truncated');
      start += 5; // dependency and weight: priorities are ignored
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const fragment = buf.subarray(start, end);
    if (flags & Flag.END_HEADERS) return this.headerBlock(streamId, endStream, fragment);
    this.continuation = { streamId, endStream, fragments: [fragment], size: fragment.length };
  }

  private onContinuation(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    const continuation = this.continuation;
    if (continuation === null || continuation.streamId !== streamId) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    }
    continuation.fragments.push(buf.subarray(start, end));
    continuation.size += end - start;
    if (continuation.size > MAX_HEADER_BLOCK) return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    if (flags & Flag.END_HEADERS) {
      this.continuation = null;
      this.headerBlock(streamId, continuation.endStream, Buffer.concat(continuation.fragments, continuation.size));
    }
  }

  /** A complete header block: a new stream's request headers, or trailers of an open one. */
  private headerBlock(streamId: number, endStream: boolean, block: Buffer): void {
    let fields: string[];
    try {
      // Always decoded, even for refused streams: the HPACK tables must stay in step with the peer's.
      fields = this.hpack.decode(block);
    } catch (error) {
      return this.connectionError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${(error as Error).message}`);
    }
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers: must end the stream.
      if (existing.remoteEnded) return this.resetStream(existing, ErrorCode.STREAM_CLOSED);
      if (!endStream) return this.resetStream(existing, ErrorCode.PROTOCOL_ERROR);
      return this.remoteEnd(existing);
    }
    if (streamId % 2 === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'client opened an even stream id');
    if (streamId <= this.lastStreamId) return this.connectionError(ErrorCode.STREAM_CLOSED, 'HEADERS on a closed stream');
    this.lastStreamId = streamId;
    if (this.goingAway || this.streams.size >= this.maxConcurrentStreams) {
      this.writer.frameUInt32(FrameType.RST_STREAM, 0, streamId, ErrorCode.REFUSED_STREAM);
      return;
    }
    const stream = new H2Stream(this, streamId, this.peerInitialWindow, this.localStreamWindow);
    this.streams.set(streamId, stream);
    stream.events = this.options.onStream(stream, fields);
    if (endStream && !stream.isClosed) this.remoteEnd(stream);
  }

  private onPriority(streamId: number, start: number, end: number): void {
    if (streamId === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
    if (end - start !== 5) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY frame not 5 bytes');
  }

  private onRstStream(streamId: number, start: number, end: number): void {
    if (streamId === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (end - start !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM frame not 4 bytes');
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
      return;
    }
    this.closeStream(stream);
  }

  private onSettings(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (end !== start) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return; // our settings only raise limits, so nothing waits for the ACK
    }
    if ((end - start) % 6 !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
    this.sawSettings = true;
    let windowDelta = 0;
    for (let at = start; at < end; at += 6) {
      const id = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      switch (id) {
        case Setting.ENABLE_PUSH:
          if (value > 1) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1');
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
          windowDelta += value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
            return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
          }
          this.peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE: we never index into the peer's table, any size suits us. MAX_CONCURRENT_STREAMS: we
          // open no streams. MAX_HEADER_LIST_SIZE: our header blocks are a few bytes. Unknown ids: ignored.
          break;
      }
    }
    this.writer.frame(FrameType.SETTINGS, Flag.ACK, 0, null);
    if (windowDelta !== 0) {
      // A change of INITIAL_WINDOW_SIZE shifts the window of every open stream (RFC 9113 §6.9.2).
      for (const stream of this.streams.values()) {
        stream.sendWindow += windowDelta;
        if (stream.sendWindow > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window overflow');
      }
      if (windowDelta > 0) for (const stream of this.streams.values()) if (stream.queue !== null) this.drain(stream);
    }
  }

  private onPing(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (end - start !== 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING frame not 8 bytes');
    if (!(flags & Flag.ACK)) return this.writer.frame(FrameType.PING, Flag.ACK, 0, buf, start, end);
    if (!this.goingAway && SHUTDOWN_PING.compare(buf, start, end) === 0) {
      // The peer has seen our shutdown notice: whatever it opened by now is all it will open.
      this.goingAway = true;
      this.writer.goAway(this.lastStreamId, ErrorCode.NO_ERROR);
      this.endIfIdle();
    }
  }

  private onGoAway(streamId: number, start: number, end: number): void {
    if (streamId !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (end - start < 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY frame too short');
    // We open no streams, so nothing of ours is refused; the peer opens no more. Finish what is open, then close.
    this.peerGoingAway = true;
    this.endIfIdle();
  }

  private onWindowUpdate(streamId: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE frame not 4 bytes');
    const increment = buf.readUInt32BE(start) & 0x7fff_ffff;
    if (streamId === 0) {
      if (increment === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflow');
      for (const stream of this.blocked) {
        this.blocked.delete(stream);
        this.drain(stream);
        if (this.sendWindow <= 0) break;
      }
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) return this.connectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) return this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) return this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
    if (stream.queue !== null) this.drain(stream);
  }

  // ---- sending (called by H2Stream) ----

  sendHeaders(stream: H2Stream, block: Buffer, endStream: boolean): void {
    // Our blocks are constants of a few dozen bytes, always within the smallest allowed frame size.
    this.writer.frame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), stream.id, block);
    if (endStream && stream.remoteEnded) this.closeStream(stream);
  }

  sendData(stream: H2Stream, data: Buffer): void {
    const length = data.length;
    if (stream.queue === null && length <= stream.sendWindow && length <= this.sendWindow && length <= this.peerMaxFrameSize) {
      // Fast path: one frame, within every limit.
      stream.sendWindow -= length;
      this.sendWindow -= length;
      this.writer.frame(FrameType.DATA, 0, stream.id, data);
      return;
    }
    (stream.queue ??= []).push(data);
    this.drain(stream);
  }

  resetStream(stream: H2Stream, code: number): void {
    this.writer.frameUInt32(FrameType.RST_STREAM, 0, stream.id, code);
    this.closeStream(stream);
  }

  /** Sends as much queued DATA as the windows allow, in frames of at most the peer's max frame size. */
  private drain(stream: H2Stream): void {
    const queue = stream.queue;
    if (queue === null || stream.isClosed) return;
    while (queue.length > 0) {
      const head = queue[0] as Buffer;
      const n = Math.min(head.length - stream.queueOffset, stream.sendWindow, this.sendWindow, this.peerMaxFrameSize);
      if (n <= 0 && head.length > stream.queueOffset) {
        // Waits for a WINDOW_UPDATE: of the stream (handled there) or of the connection (then it is in `blocked`).
        if (this.sendWindow <= 0) this.blocked.add(stream);
        return;
      }
      this.writer.frame(FrameType.DATA, 0, stream.id, head, stream.queueOffset, stream.queueOffset + n);
      stream.sendWindow -= n;
      this.sendWindow -= n;
      stream.queueOffset += n;
      if (stream.queueOffset === head.length) {
        queue.shift();
        stream.queueOffset = 0;
      }
    }
    stream.queue = null;
    const trailers = stream.pendingTrailers;
    if (trailers !== null) {
      stream.pendingTrailers = null;
      this.sendHeaders(stream, trailers, true);
    }
  }

  // ---- stream and connection lifecycle ----

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    // A closed stream takes no more DATA, so the window it holds back need not be replenished.
    (stream.events as StreamEvents).end();
    if (stream.localEnded && stream.queue === null && !stream.isClosed) this.closeStream(stream);
  }

  private closeStream(stream: H2Stream): void {
    if (stream.isClosed) return;
    stream.isClosed = true;
    stream.queue = null;
    stream.pendingTrailers = null;
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    stream.events?.closed();
    this.endIfIdle();
  }

  /** After GOAWAY (either way) the connection ends with its last stream. */
  private endIfIdle(): void {
    if ((this.goingAway || this.peerGoingAway) && this.streams.size === 0 && !this.dead) {
      this.dead = true;
      this.reader.stop();
      this.writer.flush();
      this.socket.end();
    }
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with the code, then close; open streams are abandoned. */
  private connectionError(code: number, message: string): void {
    if (this.dead) return;
    this.dead = true;
    this.reader.stop();
    this.continuation = null;
    this.writer.goAway(this.lastStreamId, code);
    this.writer.flush();
    this.options.onError?.(new Error(`HTTP/2 connection error ${code}: ${message}`));
    this.closeAllStreams();
    this.socket.end();
    // A peer that does not close its side would keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private peerEnded(): void {
    // The peer will send nothing more; what it started cannot complete.
    this.reader.stop();
    this.closeAllStreams();
    if (!this.dead) {
      this.dead = true;
      this.writer.flush();
      this.socket.end();
    }
  }

  private socketClosed(): void {
    this.dead = true;
    this.reader.stop();
    this.closeAllStreams();
    this.options.onClose?.();
  }

  private closeAllStreams(): void {
    for (const stream of this.streams.values()) this.closeStream(stream);
  }
}
