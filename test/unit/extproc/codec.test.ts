import { describe, expect, it } from 'vitest';
import { ATTRIBUTES_KEY } from '../../../src/extproc/attributes.ts';
import { decodeProcessingRequest } from '../../../src/extproc/codec/decode-request.ts';
import { encodeReply } from '../../../src/extproc/codec/encode-reply.ts';
import { toPhaseEvent, toProcessingResponse } from '../../../src/extproc/messages.ts';
import { loadExternalProcessorService, PROCESS_PATH } from '../../../src/extproc/proto.ts';
import type { ProcessingRequest, ProcessingRequest__Output } from '../../../src/generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse, ProcessingResponse__Output } from '../../../src/generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import type { Value } from '../../../src/generated/google/protobuf/Value.ts';
import { JWT_METADATA_NAMESPACE } from '../../../src/envoy/edge.ts';
import type { ContinueReply, ImmediateReply, Phase, ProcessingModeOverride } from '../../../src/pipeline/phases.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

/**
 * The hand-written ext_proc codec (src/extproc/codec/) against the generic one (protobufjs through proto-loader, the
 * same definitions Envoy's protos give): every request decodes to the same PhaseEvent, every reply encodes to bytes
 * that protobufjs reads back as the same ProcessingResponse.
 */
const method = loadExternalProcessorService().Process as unknown as {
  path: string;
  requestSerialize(request: ProcessingRequest): Buffer;
  requestDeserialize(bytes: Buffer): ProcessingRequest__Output;
  responseSerialize(response: ProcessingResponse): Buffer;
  responseDeserialize(bytes: Buffer): ProcessingResponse__Output;
};



function randomText(random: () => number, max: number, alphabet = 'abcXYZ019-_:/ ,.é€😀'): string {
  const chars = [...alphabet];
  let out = '';
  const length = Math.floor(random() * max);
  for (let i = 0; i < length; i++) out += chars[Math.floor(random() * chars.length)];
  return out;
}

function randomLatin1(random: () => number, max: number): string {
  let out = '';
  const length = Math.floor(random() * max);
  for (let i = 0; i < length; i++) out += String.fromCharCode(32 + Math.floor(random() * 224));
  return out;
}

function randomValue(random: () => number, depth: number): Value {
  const pick = Math.floor(random() * (depth > 2 ? 4 : 6));
  switch (pick) {
    case 0: return { nullValue: 'NULL_VALUE' };
    case 1: return { numberValue: Math.round((random() - 0.5) * 1e6) / 8 };
    case 2: return { stringValue: randomText(random, 20) };
    case 3: return { boolValue: random() < 0.5 };
    case 4: return { structValue: randomStruct(random, depth + 1) };
    default: return { listValue: { values: Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1)) } };
  }
}

function randomStruct(random: () => number, depth = 0) {
  const fields: Record<string, Value> = {};
  const count = Math.floor(random() * 5);
  for (let i = 0; i < count; i++) fields[`k${i}${randomText(random, 4, 'abc')}`] = randomValue(random, depth);
  return { fields };
}

function randomHeaders(random: () => number) {
  const headers = [];
  const count = Math.floor(random() * 8);
  for (let i = 0; i < count; i++) {
    const key = [':path', ':method', 'authorization', 'content-type', 'x-dup', `x-h${i}`][Math.floor(random() * 6)] as string;
    // Envoy sends raw_value; `value` is the old field: both, either or none.
    const form = Math.floor(random() * 4);
    headers.push({
      key,
      ...(form === 0 || form === 2 ? { raw_value: Buffer.from(randomLatin1(random, 30), 'latin1') } : {}),
      ...(form === 1 || form === 2 ? { value: randomText(random, 30) } : {}),
    });
  }
  return { headers };
}

function randomAttributes(random: () => number) {
  const fields: Record<string, Value> = {
    'response.code': { numberValue: 200 + Math.floor(random() * 400) },
    'source.address': { stringValue: `10.0.0.${Math.floor(random() * 255)}:5000` },
    'xds.upstream_host_metadata': { structValue: randomStruct(random) },
    flag: { boolValue: true },
  };
  return { [ATTRIBUTES_KEY]: { fields }, 'another.filter': randomStruct(random) };
}

function randomRequest(random: () => number): ProcessingRequest {
  const kind = Math.floor(random() * 6);
  const eos = random() < 0.5;
  const body = Buffer.from(randomText(random, 200));
  const request: ProcessingRequest =
    kind === 0 ? { request_headers: { headers: randomHeaders(random), end_of_stream: eos } }
    : kind === 1 ? { response_headers: { headers: randomHeaders(random), end_of_stream: eos } }
    : kind === 2 ? { request_body: { body, end_of_stream: eos } }
    : kind === 3 ? { response_body: { body, end_of_stream: eos } }
    : kind === 4 ? { request_trailers: { trailers: randomHeaders(random) } }
    : { response_trailers: { trailers: randomHeaders(random) } };
  if (random() < 0.6) request.attributes = randomAttributes(random);
  if (random() < 0.4) {
    const jwt = random() < 0.7
      ? { fields: { [`provider-${Math.floor(random() * 3)}`]: { structValue: randomStruct(random) }, plain: { stringValue: 'x' } } }
      : { fields: { plain: { stringValue: 'no payload' } } };
    request.metadata_context = { filter_metadata: { other: randomStruct(random), [JWT_METADATA_NAMESPACE]: jwt } };
  }
  if (random() < 0.2) request.observability_mode = true;
  return request;
}

const viaProtobufjs = (bytes: Buffer) => toPhaseEvent(method.requestDeserialize(bytes));

describe('ext_proc request decoding (hand-written against protobufjs)', () => {
  it('serves the Process method at the path Envoy\'s service definition gives it', () => {
    expect(PROCESS_PATH).toBe(method.path);
  });

  it('decodes 3,000 random requests of every kind to the same PhaseEvent', () => {
    const random = seededRandom(42);
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const bytes = method.requestSerialize(randomRequest(random));
      const expected = viaProtobufjs(bytes);
      const actual = decodeProcessingRequest(bytes);
      expect(actual).toEqual(expected);
      seen.add(actual?.phase ?? 'none');
      if (actual && 'verifiedJwt' in actual) seen.add('jwt');
    }
    expect([...seen].sort()).toEqual(['jwt', 'none', 'request_body', 'request_headers', 'response_body', 'response_headers']);
  });

  it('reads header values from raw_value as latin1, folds repeated names, and keeps the response code as the status', () => {
    const bytes = method.requestSerialize({
      request_headers: {
        headers: { headers: [
          { key: 'x-dup', raw_value: Buffer.from('a') },
          { key: 'x-dup', raw_value: Buffer.from('b') },
          { key: 'x-bin', raw_value: Buffer.from([0xe9, 0x41]) },
          { key: 'x-old', value: 'plain' },
        ] },
        end_of_stream: true,
      },
    });
    const event = decodeProcessingRequest(bytes);
    expect(event).toMatchObject({ phase: 'request_headers', endOfStream: true });
    const headers = (event as { headers: Map<string, string> }).headers;
    expect([...headers]).toEqual([['x-dup', 'a,b'], ['x-bin', 'éA'], ['x-old', 'plain']]);
    const body = decodeProcessingRequest(method.requestSerialize({
      response_body: { body: Buffer.from('{}'), end_of_stream: true },
      attributes: { [ATTRIBUTES_KEY]: { fields: { 'response.code': { numberValue: 429 } } } },
    }));
    expect(body).toMatchObject({ phase: 'response_body', status: 429, endOfStream: true });
  });

  it('refuses truncated input rather than reading past it', () => {
    const bytes = method.requestSerialize({ request_body: { body: Buffer.from('hello world'), end_of_stream: true } });
    expect(() => decodeProcessingRequest(bytes.subarray(0, bytes.length - 3))).toThrow(/protobuf/);
  });
});

const PHASES: Phase[] = ['request_headers', 'response_headers', 'request_body', 'response_body'];
const MODES: ProcessingModeOverride[] = [
  { request_header_mode: 'SEND', request_body_mode: 'BUFFERED', request_trailer_mode: 'SKIP', response_header_mode: 'SEND', response_body_mode: 'STREAMED', response_trailer_mode: 'SKIP' },
  { request_header_mode: 'SKIP', request_body_mode: 'NONE', request_trailer_mode: 'SEND', response_header_mode: 'SKIP', response_body_mode: 'BUFFERED', response_trailer_mode: 'SEND' },
];

function randomReply(random: () => number): ContinueReply | ImmediateReply {
  if (random() < 0.2) {
    return {
      kind: 'immediate',
      status: [200, 400, 403, 413, 429, 503][Math.floor(random() * 6)] as number,
      headers: Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`x-h${i}`, randomLatin1(random, 20)] as [string, string]),
      body: randomText(random, 300),
      details: random() < 0.8 ? `tollgate_${randomText(random, 10, 'abc_')}` : '',
    };
  }
  const reply: ContinueReply = { kind: 'continue', phase: PHASES[Math.floor(random() * 4)] as Phase };
  if (random() < 0.5) {
    reply.headers = {
      set: Array.from({ length: Math.floor(random() * 5) }, (_, i) => [[':path', 'authorization', `x-tollgate-${i}`][i % 3] as string, randomLatin1(random, 200)] as [string, string]),
      remove: Array.from({ length: Math.floor(random() * 3) }, (_, i) => `x-remove-${i}`),
    };
  }
  if (random() < 0.4) reply.body = Buffer.from(random() < 0.2 ? '' : randomText(random, 2000));
  if (random() < 0.3) reply.clearRouteCache = true;
  if (random() < 0.4) reply.responseHeaders = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => [`x-tollgate-r${i}`, randomText(random, 40)] as [string, string]);
  if (random() < 0.2) reply.modeOverride = MODES[Math.floor(random() * MODES.length)] as ProcessingModeOverride;
  return reply;
}

/** What protobufjs reads from a framed message, after checking the gRPC prefix. */
function readFramed(framed: Buffer): ProcessingResponse__Output {
  expect(framed[0]).toBe(0);
  expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
  return method.responseDeserialize(framed.subarray(5));
}

describe('ext_proc reply encoding (hand-written against protobufjs)', () => {
  it('encodes 3,000 random replies to bytes protobufjs reads as the reference encoding', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 3000; i++) {
      const reply = randomReply(random);
      const expected = method.responseDeserialize(method.responseSerialize(toProcessingResponse(reply)));
      const actual = readFramed(encodeReply(reply));
      expect(actual).toEqual(expected);
    }
  });

  it('encodes a plain continue once per phase, and everything else afresh', () => {
    const plain = encodeReply({ kind: 'continue', phase: 'response_body' });
    expect(encodeReply({ kind: 'continue', phase: 'response_body' })).toBe(plain);
    expect(encodeReply({ kind: 'continue', phase: 'request_headers' }).equals(plain)).toBe(false);
    const routed = encodeReply({ kind: 'continue', phase: 'response_body', clearRouteCache: true });
    expect(routed).not.toBe(encodeReply({ kind: 'continue', phase: 'response_body', clearRouteCache: true }));
    // An empty body replacement drops the chunk (clear_body), which is not the same as no body mutation.
    expect(readFramed(encodeReply({ kind: 'continue', phase: 'response_body', body: Buffer.alloc(0) })).response_body?.response?.body_mutation)
      .toMatchObject({ clear_body: true });
  });
});
