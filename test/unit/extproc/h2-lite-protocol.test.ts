import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_PREFACE, ErrorCode, Flag, FrameType, Setting } from '../../../src/extproc/h2-lite/frames.ts';
import { encodeHeaderBlock } from '../../../src/extproc/h2-lite/hpack.ts';
import { bodyMessage, decodeResponses, grpcMessage, headersMessage, PROCESS_PATH, startTestServer, type TestServer } from './ext-proc-peer.ts';

interface Frame { type: number; flags: number; streamId: number; payload: Buffer }

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}
/** DATA frames of at most the default 16 KiB; END_STREAM on the last. */
function dataFrames(streamId: number, payload: Buffer, endStream: boolean): Buffer {
  const frames: Buffer[] = [];
  for (let at = 0; at < payload.length; at += 16_384) {
    const last = at + 16_384 >= payload.length;
    frames.push(frame(FrameType.DATA, last && endStream ? Flag.END_STREAM : 0, streamId, payload.subarray(at, at + 16_384)));
  }
  return Buffer.concat(frames);
}
const u32 = (value: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
};
function settings(pairs: Array<[number, number]>): Buffer {
  const payload = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}
const requestBlock = (path = PROCESS_PATH) =>
  encodeHeaderBlock([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'x'], ['content-type', 'application/grpc']]);

/** Envoy's side as raw frames, to check exactly what the server puts on the wire. */
class RawPeer {
  readonly frames: Frame[] = [];
  /** Socket reads: frames written in one turn should arrive together. */
  reads = 0;
  closed = false;
  private buffered = Buffer.alloc(0);
  private readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.reads += 1;
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9) {
        const length = this.buffered.readUIntBE(0, 3);
        if (this.buffered.length < 9 + length) break;
        this.frames.push({
          type: this.buffered[3] as number,
          flags: this.buffered[4] as number,
          streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
          payload: this.buffered.subarray(9, 9 + length),
        });
        this.buffered = this.buffered.subarray(9 + length);
      }
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
  }

  send(...chunks: Buffer[]): void {
    this.socket.write(Buffer.concat(chunks));
  }

  /** Preface and SETTINGS, as a client starts. */
  start(pairs: Array<[number, number]> = []): void {
    this.send(CLIENT_PREFACE, settings(pairs));
  }

  async until(predicate: (frames: Frame[]) => boolean): Promise<void> {
    await expect.poll(() => predicate(this.frames), { timeout: 3000 }).toBe(true);
  }

  ofType(type: number, streamId?: number): Frame[] {
    return this.frames.filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }

  async goAwayCode(): Promise<number> {
    await this.until((frames) => frames.some((f) => f.type === FrameType.GOAWAY));
    return (this.ofType(FrameType.GOAWAY)[0] as Frame).payload.readUInt32BE(4);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe('h2-lite HTTP/2 protocol handling', () => {
  let t: TestServer;
  let peers: RawPeer[];
  const peer = () => {
    const p = new RawPeer(t.server.port);
    peers.push(p);
    return p;
  };

  beforeEach(async () => {
    t = await startTestServer();
    peers = [];
  });
  afterEach(async () => {
    for (const p of peers) p.destroy();
    await t.server.stop();
  });

  it('sends its SETTINGS and a connection WINDOW_UPDATE, and ACKs the peer SETTINGS', async () => {
    const p = peer();
    p.start();
    await p.until((frames) => frames.some((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK));
    const ours = p.frames.find((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) as Frame;
    const values = new Map<number, number>();
    for (let at = 0; at < ours.payload.length; at += 6) values.set(ours.payload.readUInt16BE(at), ours.payload.readUInt32BE(at + 2));
    expect(values.get(Setting.INITIAL_WINDOW_SIZE)).toBeGreaterThanOrEqual(1 << 20);
    expect(values.get(Setting.MAX_CONCURRENT_STREAMS)).toBeGreaterThanOrEqual(10_000);
    expect(p.ofType(FrameType.WINDOW_UPDATE, 0)[0]?.payload.readUInt32BE(0)).toBeGreaterThan(1 << 20);
  });

  it('answers a whole call in few socket writes: the frames of one turn are coalesced', async () => {
    const p = peer();
    p.start();
    await p.until((frames) => frames.some((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK));
    const readsBefore = p.reads;
    p.send(
      frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()),
      frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.concat([grpcMessage(headersMessage()), grpcMessage(bodyMessage(Buffer.from('x')))])),
    );
    await p.until((frames) => frames.some((f) => f.type === FrameType.HEADERS && f.flags & Flag.END_STREAM));
    // Response HEADERS, two DATA, trailers: one write (one read here, unless the kernel splits it).
    expect(p.reads - readsBefore).toBe(1);
    const responses = decodeResponses(Buffer.concat(p.ofType(FrameType.DATA, 1).map((f) => f.payload)));
    expect(responses.map((r) => r.response)).toEqual(['request_headers', 'request_body']);
  });

  it('honours the peer MAX_FRAME_SIZE and stream window, and sends more on WINDOW_UPDATE', async () => {
    const p = peer();
    p.start([[Setting.MAX_FRAME_SIZE, 20_000], [Setting.INITIAL_WINDOW_SIZE, 50_000]]);
    const body = Buffer.alloc(100_000, 3);
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()), dataFrames(1, grpcMessage(bodyMessage(body)), true));
    const sent = () => p.ofType(FrameType.DATA, 1).reduce((n, f) => n + f.payload.length, 0);
    // The connection window is still the default 65,535; the stream's is 50,000.
    await p.until(() => sent() === 50_000);
    expect(p.ofType(FrameType.DATA, 1).map((f) => f.payload.length)).toEqual([20_000, 20_000, 10_000]);
    await new Promise((r) => setTimeout(r, 50));
    expect(sent()).toBe(50_000);
    p.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(100_000)));
    // Now the connection window (65,535 - 50,000 left) is the limit.
    await p.until(() => sent() === 65_535);
    p.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(100_000)));
    await p.until((frames) => frames.some((f) => f.type === FrameType.HEADERS && f.flags & Flag.END_STREAM));
    const responses = decodeResponses(Buffer.concat(p.ofType(FrameType.DATA, 1).map((f) => f.payload)));
    expect(responses[0]?.request_body?.response?.body_mutation?.body?.equals(body)).toBe(true);
  });

  it('applies a later INITIAL_WINDOW_SIZE change to open streams', async () => {
    const p = peer();
    p.start([[Setting.INITIAL_WINDOW_SIZE, 10]]);
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(bodyMessage(Buffer.alloc(1000, 1)))));
    const sent = () => p.ofType(FrameType.DATA, 1).reduce((n, f) => n + f.payload.length, 0);
    await p.until(() => sent() === 10);
    p.send(settings([[Setting.INITIAL_WINDOW_SIZE, 60_000]]));
    await p.until((frames) => frames.some((f) => f.type === FrameType.HEADERS && f.flags & Flag.END_STREAM));
    expect(sent()).toBeGreaterThan(1000);
  });

  it('aborts the session on RST_STREAM and ignores frames still in flight for that stream', async () => {
    const p = peer();
    p.start();
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()), frame(FrameType.DATA, 0, 1, grpcMessage(headersMessage())));
    await p.until(() => p.ofType(FrameType.DATA, 1).length === 1);
    p.send(frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL)), frame(FrameType.DATA, 0, 1, grpcMessage(headersMessage())));
    await expect.poll(() => t.handlers[0]?.closed).toBe(false);
    p.send(frame(FrameType.PING, 0, 0, Buffer.from('pingpong')));
    await p.until((frames) => frames.some((f) => f.type === FrameType.PING && f.flags & Flag.ACK));
    expect(p.ofType(FrameType.GOAWAY)).toHaveLength(0);
    expect(t.handlers[0]?.events).toHaveLength(1);
  });

  it('refuses a wrong connection preface with GOAWAY PROTOCOL_ERROR', async () => {
    const p = peer();
    p.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await p.goAwayCode()).toBe(ErrorCode.PROTOCOL_ERROR);
    await expect.poll(() => p.closed).toBe(true);
  });

  it('refuses a frame larger than its max frame size with GOAWAY FRAME_SIZE_ERROR', async () => {
    const p = peer();
    p.start();
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()), frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385)));
    expect(await p.goAwayCode()).toBe(ErrorCode.FRAME_SIZE_ERROR);
    await expect.poll(() => t.handlers[0]?.closed).toBe(false);
  });

  it.each([
    ['a PING of the wrong size', () => frame(FrameType.PING, 0, 0, Buffer.alloc(4)), ErrorCode.FRAME_SIZE_ERROR],
    ['DATA on an idle stream', () => frame(FrameType.DATA, 0, 5, Buffer.alloc(4)), ErrorCode.PROTOCOL_ERROR],
    ['DATA on stream 0', () => frame(FrameType.DATA, 0, 0, Buffer.alloc(4)), ErrorCode.PROTOCOL_ERROR],
    ['a header block interrupted by another frame', () => Buffer.concat([frame(FrameType.HEADERS, 0, 1, requestBlock().subarray(0, 3)), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR],
    ['a malformed HPACK block', () => frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])), ErrorCode.COMPRESSION_ERROR],
    ['an even stream id', () => frame(FrameType.HEADERS, Flag.END_HEADERS, 2, requestBlock()), ErrorCode.PROTOCOL_ERROR],
    ['a WINDOW_UPDATE overflowing the connection window', () => frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)), ErrorCode.FLOW_CONTROL_ERROR],
    ['an out-of-range MAX_FRAME_SIZE', () => settings([[Setting.MAX_FRAME_SIZE, 100]]), ErrorCode.PROTOCOL_ERROR],
    ['PUSH_PROMISE', () => frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4)), ErrorCode.PROTOCOL_ERROR],
  ])('answers %s with GOAWAY', async (_name, bad, code) => {
    const p = peer();
    p.start();
    p.send(bad());
    expect(await p.goAwayCode()).toBe(code);
  });

  it('decodes HEADERS with padding, priority and CONTINUATION, and ignores PRIORITY frames', async () => {
    const p = peer();
    p.start();
    const block = requestBlock();
    const padded = Buffer.concat([Buffer.from([4]), Buffer.alloc(5), block.subarray(0, 10), Buffer.alloc(4)]);
    p.send(
      frame(FrameType.PRIORITY, 0, 1, Buffer.alloc(5)),
      frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, padded),
      frame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 20)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(20)),
      frame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, Buffer.concat([Buffer.from([3]), grpcMessage(headersMessage()), Buffer.alloc(3)])),
    );
    await p.until((frames) => frames.some((f) => f.type === FrameType.HEADERS && f.flags & Flag.END_STREAM));
    expect(p.ofType(FrameType.DATA, 1)).toHaveLength(1);
    expect(p.ofType(FrameType.GOAWAY)).toHaveLength(0);
  });

  it('replenishes the stream window as DATA is consumed', async () => {
    const p = peer();
    p.start();
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()));
    // 3 MiB in 16 KiB frames without END_STREAM: past half the 4 MiB stream window.
    p.send(dataFrames(1, grpcMessage(bodyMessage(Buffer.alloc(3 * 1024 * 1024, 9))), false));
    await p.until(() => p.ofType(FrameType.WINDOW_UPDATE, 1).length > 0);
    expect(p.ofType(FrameType.WINDOW_UPDATE, 1)[0]?.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    await p.until(() => p.ofType(FrameType.DATA, 1).length > 0);
  });

  it('sends two GOAWAYs on stop (notice, then the last stream id) and closes when idle', async () => {
    const p = peer();
    p.start();
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, requestBlock()), frame(FrameType.DATA, 0, 1, grpcMessage(headersMessage())));
    await p.until(() => p.ofType(FrameType.DATA, 1).length === 1);
    const stopping = t.server.stop();
    await p.until(() => p.ofType(FrameType.PING).length === 1);
    expect(p.ofType(FrameType.GOAWAY)[0]?.payload.readUInt32BE(0)).toBe(0x7fffffff);
    // A stream opened before the peer saw the notice still counts.
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 3, requestBlock()), frame(FrameType.PING, Flag.ACK, 0, (p.ofType(FrameType.PING)[0] as Frame).payload));
    await p.until(() => p.ofType(FrameType.GOAWAY).length === 2);
    expect(p.ofType(FrameType.GOAWAY)[1]?.payload.readUInt32BE(0)).toBe(3);
    // One opened after it is refused.
    p.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 5, requestBlock()));
    await p.until(() => p.ofType(FrameType.RST_STREAM, 5).length === 1);
    expect(p.ofType(FrameType.RST_STREAM, 5)[0]?.payload.readUInt32BE(0)).toBe(ErrorCode.REFUSED_STREAM);
    expect(p.closed).toBe(false);
    p.send(frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.alloc(0)), frame(FrameType.DATA, Flag.END_STREAM, 3, Buffer.alloc(0)));
    await stopping;
    await expect.poll(() => p.closed).toBe(true);
    t = { ...t, server: { port: 0, stop: async () => {} } };
  });
});
