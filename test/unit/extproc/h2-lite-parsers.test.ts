import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../../src/extproc/h2-lite/frame-reader.ts';
import { CLIENT_PREFACE, ErrorCode } from '../../../src/extproc/h2-lite/frames.ts';
import { GrpcMessageReader, frameMessage } from '../../../src/extproc/h2-lite/grpc-framing.ts';
import { HeaderBlockDecoder, encodeHeaderBlock } from '../../../src/extproc/h2-lite/hpack.ts';

/** Splits bytes into chunks of pseudo-random sizes (deterministic), as socket reads may. */
function* chunks(bytes: Buffer, seed: number, max: number): Generator<Buffer> {
  let state = seed;
  for (let at = 0; at < bytes.length; ) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (state % max);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

function frame(type: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

describe('FrameReader', () => {
  const frames = [frame(4, 0, Buffer.alloc(0)), frame(1, 1, Buffer.from('abc')), frame(0, 1, Buffer.alloc(16_384, 5)), frame(0, 3, Buffer.alloc(0)), frame(6, 0, Buffer.from('12345678'))];
  const stream = Buffer.concat([CLIENT_PREFACE, ...frames]);

  it.each([1, 2, 7, 100, 20_000])('yields the same frames whatever the read sizes (max %i bytes)', (max) => {
    const seen: string[] = [];
    const reader = new FrameReader({
      frame: (type, _flags, streamId, buf, start, end) => void seen.push(`${type}/${streamId}/${buf.subarray(start, end).toString('hex')}`),
      framingError: (code, message) => void seen.push(`error ${code} ${message}`),
    });
    for (const chunk of chunks(stream, max, max)) reader.push(chunk);
    expect(seen).toEqual(frames.map((f) => `${f[3]}/${f.readUInt32BE(5)}/${f.subarray(9).toString('hex')}`));
  });

  it('reports an oversized frame from its header, before buffering it', () => {
    const errors: number[] = [];
    const reader = new FrameReader({ frame: () => {}, framingError: (code) => void errors.push(code) });
    const big = Buffer.alloc(9);
    big.writeUIntBE(1 << 20, 0, 3);
    // Even with the header itself split across reads.
    reader.push(Buffer.concat([CLIENT_PREFACE, big.subarray(0, 4)]));
    expect(errors).toEqual([]);
    reader.push(big.subarray(4));
    expect(errors).toEqual([ErrorCode.FRAME_SIZE_ERROR]);
  });
});

describe('GrpcMessageReader', () => {
  const messages = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(70_000, 9), Buffer.from('last')];
  const stream = Buffer.concat(messages.map(frameMessage));

  it.each([1, 3, 6, 1000, 100_000])('reassembles messages across payloads (max %i bytes)', (max) => {
    const seen: Buffer[] = [];
    const reader = new GrpcMessageReader((m) => void seen.push(Buffer.from(m)), 1 << 20);
    for (const chunk of chunks(stream, max + 1, max)) reader.push(chunk);
    expect(seen).toEqual(messages);
    expect(reader.idle).toBe(true);
  });

  it('refuses compressed and oversized messages', () => {
    const compressed = frameMessage(Buffer.from('x'));
    compressed[0] = 1;
    expect(() => new GrpcMessageReader(() => {}, 100).push(compressed)).toThrow(/compressed/);
    expect(() => new GrpcMessageReader(() => {}, 100).push(frameMessage(Buffer.alloc(101)))).toThrow(/exceeds/);
  });
});

describe('HPACK', () => {
  it('decodes our own encoded blocks', () => {
    const fields = [[':status', '200'], ['content-type', 'application/grpc'], ['grpc-message', 'x'.repeat(300)]] as const;
    expect(new HeaderBlockDecoder().decode(encodeHeaderBlock(fields))).toEqual(fields.flat());
  });

  it('keeps the dynamic table and decodes Huffman strings (RFC 7541 C.4 requests)', () => {
    const decoder = new HeaderBlockDecoder();
    const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
    expect(decoder.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))).toEqual([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
    expect(decoder.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))).toEqual([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache']);
    expect(decoder.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))).toEqual([':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value']);
  });
});
