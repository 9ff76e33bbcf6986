import { RESPONSE_HEADERS_NAMESPACE } from '../../envoy/response-headers.ts';
import type { ContinueReply, HeaderEdits, ImmediateReply, Phase, ProcessingModeOverride } from '../../pipeline/phases.ts';
import { delimitedSize, varintSize, WireWriter } from './wire.ts';

/**
 * A pipeline reply straight to a gRPC-framed ProcessingResponse: every message's size is computed first, then it is
 * written once into a buffer of exactly that size with the 5-byte gRPC prefix in front. This replaces building a
 * ProcessingResponse object tree, protobufjs' fromObject + encode, and copying the result into a frame (~3 % of
 * Tollgate's CPU and ~15 KiB of garbage per request with every stage on, issue 11). Field numbers from
 * envoy/service/ext_proc/v3/external_processor.proto, config/core/v3/base.proto, type/v3/http_status.proto,
 * ext_proc/v3/processing_mode.proto and google/protobuf/struct.proto; the tests decode the output with protobufjs.
 */

/** ProcessingResponse: the phase's HeadersResponse / BodyResponse field. */
const PHASE_FIELD: Record<Phase, number> = { request_headers: 1, response_headers: 2, request_body: 3, response_body: 4 };
const IMMEDIATE_RESPONSE = 7;
const DYNAMIC_METADATA = 8;
const MODE_OVERRIDE = 9;
/** HeaderValueOption.append_action OVERWRITE_IF_EXISTS_OR_ADD: Tollgate's values replace the client's. */
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

const HEADER_SEND_MODE: Record<string, number> = { DEFAULT: 0, SEND: 1, SKIP: 2 };
const BODY_SEND_MODE: Record<string, number> = { NONE: 0, STREAMED: 1, BUFFERED: 2, BUFFERED_PARTIAL: 3, FULL_DUPLEX_STREAMED: 4 };
/** ProcessingMode fields in order: 1 request headers … 6 response trailers. */
const MODE_FIELDS: ReadonlyArray<[keyof ProcessingModeOverride, Record<string, number>]> = [
  ['request_header_mode', HEADER_SEND_MODE],
  ['response_header_mode', HEADER_SEND_MODE],
  ['request_body_mode', BODY_SEND_MODE],
  ['response_body_mode', BODY_SEND_MODE],
  ['request_trailer_mode', HEADER_SEND_MODE],
  ['response_trailer_mode', HEADER_SEND_MODE],
];

const GRPC_PREFIX = 5;

/** "Continue, change nothing" per phase: most replies (every chunk of a passthrough); its bytes never change. */
const plainContinue = new Map<Phase, Buffer>();

export function encodeReply(reply: ContinueReply | ImmediateReply): Buffer {
  if (reply.kind === 'immediate') return encodeImmediate(reply);
  if (isPlain(reply)) {
    let framed = plainContinue.get(reply.phase);
    if (!framed) {
      framed = encodeContinue(reply);
      plainContinue.set(reply.phase, framed);
    }
    return framed;
  }
  return encodeContinue(reply);
}

function isPlain(reply: ContinueReply): boolean {
  return !hasEdits(reply.headers) && reply.body === undefined && !reply.clearRouteCache && !reply.responseHeaders?.length && !reply.modeOverride;
}

const hasEdits = (edits: HeaderEdits | undefined): edits is HeaderEdits => !!edits && (edits.set.length > 0 || edits.remove.length > 0);

// --- sizes ------------------------------------------------------------------------------------------------------

/** HeaderValueOption { header: HeaderValue { key = 1, raw_value = 3 }, append_action = 3 }. */
function headerOptionSize(name: string, value: string): { option: number; header: number; nameBytes: number } {
  const nameBytes = Buffer.byteLength(name, 'utf8');
  const header = delimitedSize(nameBytes) + delimitedSize(value.length);
  return { option: delimitedSize(header) + 2, header, nameBytes };
}

/** HeaderMutation { set_headers = 1, remove_headers = 2 } */
function headerMutationSize(set: ReadonlyArray<readonly [string, string]>, remove: readonly string[]): number {
  let size = 0;
  for (const [name, value] of set) size += delimitedSize(headerOptionSize(name, value).option);
  for (const name of remove) size += delimitedSize(Buffer.byteLength(name, 'utf8'));
  return size;
}

/** Struct { fields: { <namespace>: Value { struct_value: Struct { fields: { <name>: Value { string_value } } } } } } */
function responseHeadersMetadataSizes(headers: ReadonlyArray<readonly [string, string]>): { inner: number; outerEntry: number; outer: number } {
  let inner = 0;
  for (const [name, value] of headers) {
    const entry = delimitedSize(Buffer.byteLength(name, 'utf8')) + delimitedSize(delimitedSize(Buffer.byteLength(value, 'utf8')));
    inner += delimitedSize(entry);
  }
  const outerEntry = delimitedSize(Buffer.byteLength(RESPONSE_HEADERS_NAMESPACE, 'utf8')) + delimitedSize(delimitedSize(inner));
  return { inner, outerEntry, outer: delimitedSize(outerEntry) };
}

function modeSize(mode: ProcessingModeOverride): number {
  let size = 0;
  for (const [name, values] of MODE_FIELDS) if ((values[mode[name]] ?? 0) !== 0) size += 2;
  return size;
}

// --- writers ----------------------------------------------------------------------------------------------------

function writeHeaderMutation(w: WireWriter, set: ReadonlyArray<readonly [string, string]>, remove: readonly string[]): void {
  for (const [name, value] of set) {
    const sizes = headerOptionSize(name, value);
    w.delimited(1, sizes.option);
    w.delimited(1, sizes.header);
    w.utf8Field(1, name, sizes.nameBytes);
    w.latin1Field(3, value);
    w.varintField(3, OVERWRITE_IF_EXISTS_OR_ADD);
  }
  for (const name of remove) w.utf8Field(2, name, Buffer.byteLength(name, 'utf8'));
}

function writeResponseHeadersMetadata(w: WireWriter, headers: ReadonlyArray<readonly [string, string]>): void {
  const sizes = responseHeadersMetadataSizes(headers);
  w.delimited(DYNAMIC_METADATA, sizes.outer);
  w.delimited(1, sizes.outerEntry);
  w.utf8Field(1, RESPONSE_HEADERS_NAMESPACE, Buffer.byteLength(RESPONSE_HEADERS_NAMESPACE, 'utf8'));
  w.delimited(2, delimitedSize(sizes.inner));
  w.delimited(5, sizes.inner);
  for (const [name, value] of headers) {
    const nameBytes = Buffer.byteLength(name, 'utf8');
    const valueBytes = Buffer.byteLength(value, 'utf8');
    w.delimited(1, delimitedSize(nameBytes) + delimitedSize(delimitedSize(valueBytes)));
    w.utf8Field(1, name, nameBytes);
    w.delimited(2, delimitedSize(valueBytes));
    w.utf8Field(3, value, valueBytes);
  }
}

function writeMode(w: WireWriter, mode: ProcessingModeOverride): void {
  MODE_FIELDS.forEach(([name, values], index) => {
    const value = values[mode[name]] ?? 0;
    if (value !== 0) w.varintField(index + 1, value);
  });
}

/** A buffer for `payload` bytes behind the gRPC prefix (not compressed, 4-byte big-endian length). */
function framed(payload: number): WireWriter {
  const buf = Buffer.allocUnsafe(GRPC_PREFIX + payload);
  buf[0] = 0;
  buf.writeUInt32BE(payload, 1);
  return new WireWriter(buf, GRPC_PREFIX);
}

/** ProcessingResponse { <phase>: { response: CommonResponse }, dynamic_metadata, mode_override }. */
function encodeContinue(reply: ContinueReply): Buffer {
  const edits = hasEdits(reply.headers) ? reply.headers : null;
  const mutation = edits ? headerMutationSize(edits.set, edits.remove) : -1;
  const body = reply.body;
  // BodyMutation: body = 1, or clear_body = 2 for an empty replacement (drops the chunk).
  const bodyMutation = body === undefined ? -1 : body.length > 0 ? delimitedSize(body.length) : 2;
  const common = (mutation >= 0 ? delimitedSize(mutation) : 0) + (bodyMutation >= 0 ? delimitedSize(bodyMutation) : 0) + (reply.clearRouteCache ? 2 : 0);
  const phaseMessage = delimitedSize(common);
  const metadata = reply.responseHeaders?.length ? responseHeadersMetadataSizes(reply.responseHeaders).outer : 0;
  const mode = reply.modeOverride ? modeSize(reply.modeOverride) : -1;
  const w = framed(delimitedSize(phaseMessage) + (metadata ? delimitedSize(metadata) : 0) + (mode >= 0 ? delimitedSize(mode) : 0));
  w.delimited(PHASE_FIELD[reply.phase], phaseMessage);
  w.delimited(1, common);
  if (edits) {
    w.delimited(2, mutation);
    writeHeaderMutation(w, edits.set, edits.remove);
  }
  if (body !== undefined) {
    w.delimited(3, bodyMutation);
    if (body.length > 0) w.bytesField(1, body);
    else w.varintField(2, 1);
  }
  if (reply.clearRouteCache) w.varintField(5, 1);
  if (metadata && reply.responseHeaders) writeResponseHeadersMetadata(w, reply.responseHeaders);
  if (reply.modeOverride) {
    w.delimited(MODE_OVERRIDE, mode);
    writeMode(w, reply.modeOverride);
  }
  return finish(w);
}

/** ProcessingResponse { immediate_response: { status: { code }, headers, body, details } }. */
function encodeImmediate(reply: ImmediateReply): Buffer {
  const status = 1 + varintSize(reply.status);
  const mutation = headerMutationSize(reply.headers, []);
  const bodyBytes = Buffer.byteLength(reply.body, 'utf8');
  const detailsBytes = Buffer.byteLength(reply.details, 'utf8');
  const immediate = delimitedSize(status) + delimitedSize(mutation) + (bodyBytes ? delimitedSize(bodyBytes) : 0) + (detailsBytes ? delimitedSize(detailsBytes) : 0);
  const w = framed(delimitedSize(immediate));
  w.delimited(IMMEDIATE_RESPONSE, immediate);
  w.delimited(1, status);
  w.varintField(1, reply.status);
  w.delimited(2, mutation);
  writeHeaderMutation(w, reply.headers, []);
  if (bodyBytes) w.utf8Field(3, reply.body, bodyBytes);
  if (detailsBytes) w.utf8Field(5, reply.details, detailsBytes);
  return finish(w);
}

function finish(w: WireWriter): Buffer {
  if (w.pos !== w.buf.length) throw new Error(`ext_proc encoder: wrote ${w.pos} of ${w.buf.length} bytes`);
  return w.buf;
}
