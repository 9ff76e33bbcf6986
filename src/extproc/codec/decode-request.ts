import { JWT_METADATA_NAMESPACE } from '../../envoy/edge.ts';
import type { Attributes, HeaderMap, PhaseEvent, VerifiedJwt } from '../../pipeline/phases.ts';
import { ATTRIBUTES_KEY, RESPONSE_CODE_ATTRIBUTE } from '../attributes.ts';
import { WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, WireReader } from './wire.ts';

/**
 * ProcessingRequest bytes straight to the pipeline's PhaseEvent, without protobufjs' generic decode and the
 * conversion after it (two object trees per message; together ~4 % of Tollgate's CPU with every stage on, issue 11).
 * Field numbers from envoy/service/ext_proc/v3/external_processor.proto, config/core/v3/base.proto and
 * google/protobuf/struct.proto; the tests compare every field with the protobufjs path (messages.ts toPhaseEvent).
 */


// ProcessingRequest
const REQUEST_HEADERS = 2;
const RESPONSE_HEADERS = 3;
const REQUEST_BODY = 4;
const RESPONSE_BODY = 5;
const REQUEST_TRAILERS = 6;
const RESPONSE_TRAILERS = 7;
const METADATA_CONTEXT = 8;
const ATTRIBUTES = 9;

type Kind = 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'trailers' | null;

const EMPTY_BODY: Buffer = Buffer.alloc(0);

export function decodeProcessingRequest(buf: Buffer): PhaseEvent | null {
  const reader = new WireReader(buf);
  let kind: Kind = null;
  let headers: HeaderMap | null = null;
  let body: Buffer = EMPTY_BODY;
  let endOfStream = false;
  let attributes: Attributes | undefined;
  let verifiedJwt: VerifiedJwt | undefined;
  while (reader.more) {
    const tag = reader.tag();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== WIRE_LENGTH_DELIMITED) {
      reader.skip(wireType);
      continue;
    }
    switch (field) {
      case REQUEST_HEADERS:
      case RESPONSE_HEADERS: {
        kind = field === REQUEST_HEADERS ? 'request_headers' : 'response_headers';
        const { start, end } = reader.delimited();
        ({ headers, endOfStream } = httpHeaders(reader, start, end));
        break;
      }
      case REQUEST_BODY:
      case RESPONSE_BODY: {
        kind = field === REQUEST_BODY ? 'request_body' : 'response_body';
        const { start, end } = reader.delimited();
        ({ body, endOfStream } = httpBody(reader, start, end));
        break;
      }
      case REQUEST_TRAILERS:
      case RESPONSE_TRAILERS:
        kind = 'trailers';
        reader.skip(wireType);
        break;
      case METADATA_CONTEXT: {
        const { start, end } = reader.delimited();
        verifiedJwt = jwtOfMetadata(reader, start, end) ?? verifiedJwt;
        break;
      }
      case ATTRIBUTES: {
        const { start, end } = reader.delimited();
        attributes = attributesEntry(reader, start, end) ?? attributes;
        break;
      }
      default:
        reader.skip(wireType);
    }
  }
  const withAttributes = attributes ? { attributes } : {};
  switch (kind) {
    case 'request_headers':
      return { phase: 'request_headers', headers: headers ?? new Map(), endOfStream, ...withAttributes, ...(verifiedJwt ? { verifiedJwt } : {}) };
    case 'response_headers':
      return { phase: 'response_headers', headers: headers ?? new Map(), endOfStream, ...withAttributes };
    case 'request_body':
      return { phase: 'request_body', body, endOfStream, ...withAttributes };
    case 'response_body': {
      const status = attributes?.[RESPONSE_CODE_ATTRIBUTE];
      return { phase: 'response_body', body, endOfStream, ...(status === undefined ? {} : { status: Number(status) }), ...withAttributes };
    }
    default:
      return null; // trailers (not requested) and anything unknown get no answer
  }
}

/**
 * Runs `read` over the fields of the nested message [start, end), then puts the reader back after it. One reader
 * serves the whole message: no reader object per nested message.
 */
function within<T>(reader: WireReader, start: number, end: number, read: () => T): T {
  const outerEnd = reader.end;
  reader.pos = start;
  reader.end = end;
  try {
    return read();
  } finally {
    reader.pos = end;
    reader.end = outerEnd;
  }
}

/** HttpHeaders: headers (HeaderMap) = 1, end_of_stream = 3. */
function httpHeaders(reader: WireReader, start: number, end: number): { headers: HeaderMap; endOfStream: boolean } {
  return within(reader, start, end, () => {
    const headers: HeaderMap = new Map();
    let endOfStream = false;
    while (reader.more) {
      const tag = reader.tag();
      if (tag === ((1 << 3) | WIRE_LENGTH_DELIMITED)) {
        const map = reader.delimited();
        within(reader, map.start, map.end, () => headerMap(reader, headers));
      } else if (tag === ((3 << 3) | WIRE_VARINT)) {
        endOfStream = reader.varint() !== 0;
      } else {
        reader.skip(tag & 7);
      }
    }
    return { headers, endOfStream };
  });
}

/**
 * HeaderMap: repeated HeaderValue headers = 1; HeaderValue: key = 1, value = 2, raw_value = 3. Envoy sends values in
 * raw_value (bytes, read as latin1); `value` is only a fallback for older senders. Repeated names are joined by
 * commas, as HTTP folds them.
 */
function headerMap(reader: WireReader, into: HeaderMap): void {
  while (reader.more) {
    const tag = reader.tag();
    if (tag !== ((1 << 3) | WIRE_LENGTH_DELIMITED)) {
      reader.skip(tag & 7);
      continue;
    }
    const entry = reader.delimited();
    const outerEnd = reader.end;
    reader.pos = entry.start;
    reader.end = entry.end;
    let key = '';
    let raw: string | null = null;
    let plain = '';
    while (reader.more) {
      const inner = reader.tag();
      if (inner === ((1 << 3) | WIRE_LENGTH_DELIMITED)) key = reader.string();
      else if (inner === ((2 << 3) | WIRE_LENGTH_DELIMITED)) plain = reader.string();
      else if (inner === ((3 << 3) | WIRE_LENGTH_DELIMITED)) raw = reader.latin1();
      else reader.skip(inner & 7);
    }
    reader.pos = entry.end;
    reader.end = outerEnd;
    const value = raw ? raw : plain;
    const existing = into.get(key);
    into.set(key, existing === undefined ? value : `${existing},${value}`);
  }
}

/** HttpBody: body = 1, end_of_stream = 2. */
function httpBody(reader: WireReader, start: number, end: number): { body: Buffer; endOfStream: boolean } {
  return within(reader, start, end, () => {
    let body = EMPTY_BODY;
    let endOfStream = false;
    while (reader.more) {
      const tag = reader.tag();
      if (tag === ((1 << 3) | WIRE_LENGTH_DELIMITED)) body = reader.bytes();
      else if (tag === ((2 << 3) | WIRE_VARINT)) endOfStream = reader.varint() !== 0;
      else reader.skip(tag & 7);
    }
    return { body, endOfStream };
  });
}

/** A map<string, Struct> entry: key = 1, value = 2. Returns the key and where the value sits (either order on the wire). */
function mapEntry(reader: WireReader): { key: string; value: { start: number; end: number } | null } {
  let key = '';
  let value: { start: number; end: number } | null = null;
  while (reader.more) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | WIRE_LENGTH_DELIMITED)) key = reader.string();
    else if (tag === ((2 << 3) | WIRE_LENGTH_DELIMITED)) value = reader.delimited();
    else reader.skip(tag & 7);
  }
  return { key, value };
}

/** One entry of ProcessingRequest.attributes: the ext_proc filter's attributes, strings and numbers only. */
function attributesEntry(reader: WireReader, start: number, end: number): Attributes | undefined {
  return within(reader, start, end, () => {
    const { key, value } = mapEntry(reader);
    if (key !== ATTRIBUTES_KEY || !value) return undefined;
    const struct = within(reader, value.start, value.end, () => readStruct(reader));
    const attributes: Attributes = {};
    for (const name in struct) {
      const item = struct[name];
      if (typeof item === 'string' || typeof item === 'number') attributes[name] = item;
    }
    return attributes;
  });
}

/**
 * Metadata.filter_metadata (map<string, Struct> = 1): the JWT payload jwt_authn verified, from the namespace Envoy
 * forwards (jwt_authn is its only writer: a client cannot put anything there). The first provider with a payload.
 */
function jwtOfMetadata(reader: WireReader, start: number, end: number): VerifiedJwt | undefined {
  return within(reader, start, end, () => {
    let found: VerifiedJwt | undefined;
    while (reader.more) {
      const tag = reader.tag();
      if (tag !== ((1 << 3) | WIRE_LENGTH_DELIMITED)) {
        reader.skip(tag & 7);
        continue;
      }
      const entry = reader.delimited();
      const { key, value } = within(reader, entry.start, entry.end, () => mapEntry(reader));
      if (found || key !== JWT_METADATA_NAMESPACE || !value) continue;
      const providers = within(reader, value.start, value.end, () => readStruct(reader));
      for (const provider in providers) {
        const claims = providers[provider];
        if (claims !== null && typeof claims === 'object' && !Array.isArray(claims)) {
          found = { provider, claims: claims as Record<string, unknown> };
          break;
        }
      }
    }
    return found;
  });
}

/** google.protobuf.Struct (map<string, Value> fields = 1) as a plain object, reading to the reader's end. */
function readStruct(reader: WireReader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (reader.more) {
    const tag = reader.tag();
    if (tag !== ((1 << 3) | WIRE_LENGTH_DELIMITED)) {
      reader.skip(tag & 7);
      continue;
    }
    const entry = reader.delimited();
    within(reader, entry.start, entry.end, () => {
      let key = '';
      let value: unknown = null;
      while (reader.more) {
        const inner = reader.tag();
        if (inner === ((1 << 3) | WIRE_LENGTH_DELIMITED)) key = reader.string();
        else if (inner === ((2 << 3) | WIRE_LENGTH_DELIMITED)) {
          const extent = reader.delimited();
          value = within(reader, extent.start, extent.end, () => readValue(reader));
        } else reader.skip(inner & 7);
      }
      out[key] = value;
    });
  }
  return out;
}

/** google.protobuf.Value: null = 1, number = 2 (double), string = 3, bool = 4, struct = 5, list = 6. */
function readValue(reader: WireReader): unknown {
  let value: unknown = null;
  while (reader.more) {
    const tag = reader.tag();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === WIRE_VARINT) {
      reader.varint();
      value = null;
    } else if (field === 2 && wireType === WIRE_FIXED64) value = reader.double();
    else if (field === 3 && wireType === WIRE_LENGTH_DELIMITED) value = reader.string();
    else if (field === 4 && wireType === WIRE_VARINT) value = reader.varint() !== 0;
    else if (field === 5 && wireType === WIRE_LENGTH_DELIMITED) {
      const extent = reader.delimited();
      value = within(reader, extent.start, extent.end, () => readStruct(reader));
    } else if (field === 6 && wireType === WIRE_LENGTH_DELIMITED) {
      const extent = reader.delimited();
      value = within(reader, extent.start, extent.end, () => readList(reader));
    } else reader.skip(wireType);
  }
  return value;
}

/** google.protobuf.ListValue: repeated Value values = 1. */
function readList(reader: WireReader): unknown[] {
  const values: unknown[] = [];
  while (reader.more) {
    const tag = reader.tag();
    if (tag !== ((1 << 3) | WIRE_LENGTH_DELIMITED)) {
      reader.skip(tag & 7);
      continue;
    }
    const extent = reader.delimited();
    values.push(within(reader, extent.start, extent.end, () => readValue(reader)));
  }
  return values;
}
