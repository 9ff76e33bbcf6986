/**
 * OTLP trace encoding (opentelemetry/proto/collector/trace/v1 ExportTraceServiceRequest), hand-written: a span is
 * encoded to protobuf once, when it ends, appended to the pending batch's buffer; a batch is that buffer with the
 * resource and scope around it. No intermediate objects per span, which is where the OpenTelemetry SDK's exporter
 * spent most of its CPU (test/bench/tracing.ts).
 * Field numbers are OTLP's (opentelemetry-proto trace.proto, common.proto, resource.proto).
 */
export type AttributeValue = string | number | boolean | readonly string[];
export type SpanAttributes = Record<string, AttributeValue>;

/** What an ended span is made of. Ids are raw bytes (16 and 8). */
export interface SpanData {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer | null;
  name: string;
  /** 1 internal, 2 server, 3 client. */
  kind: number;
  /** Epoch milliseconds with a fraction (performance.timeOrigin + performance.now()). */
  startMs: number;
  endMs: number;
  attributes: SpanAttributes;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;

/*
 * Two passes per message: sizes first (nested messages are length-prefixed), then one write into one buffer of
 * exactly that size. Tags written by `tag` are all below 128 (fields ≤ 15), so each takes one byte; Span.flags
 * (field 16) has its bytes spelled out.
 */
function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) size += 1;
  return size;
}

const bytesFieldSize = (length: number) => 1 + varintSize(length) + length;

/** The encoding of an AnyValue's content; negative and non-integer numbers go as double (int64 needs 10 bytes). */
function anyValueSize(value: AttributeValue): number {
  if (typeof value === 'string') return bytesFieldSize(utf8Size(value));
  if (typeof value === 'boolean') return 2;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? 1 + varintSize(value) : 9;
  let inner = 0;
  for (const item of value) inner += bytesFieldSize(anyValueSize(item));
  return bytesFieldSize(inner);
}

const keyValueSize = (key: string, value: AttributeValue) => bytesFieldSize(keySize(key)) + bytesFieldSize(anyValueSize(value));

/**
 * UTF-8 size of a string. Span names and values are short and nearly always ASCII: a JS loop beats a call into C++
 * (Buffer.byteLength) at that length, which is most of what encoding a span costs.
 */
function utf8Size(value: string): number {
  if (value.length > 64) return Buffer.byteLength(value);
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return Buffer.byteLength(value);
  return value.length;
}

/** Attribute keys are a small fixed set: their UTF-8 length is looked up, not measured, per span. */
const keySizes = new Map<string, number>();
function keySize(key: string): number {
  let size = keySizes.get(key);
  if (size === undefined) {
    size = utf8Size(key);
    if (keySizes.size < 1024) keySizes.set(key, size);
  }
  return size;
}

const TWO_32 = 4294967296;

/** A cursor over an output buffer; `reserve` grows it (the span batcher appends every span to one). */
export class Out {
  buffer: Buffer;
  at = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  reserve(extra: number): void {
    if (this.at + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + extra));
    this.buffer.copy(next, 0, 0, this.at);
    this.buffer = next;
  }

  varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buffer[this.at++] = v;
  }

  bytes(field: number, value: Buffer): void {
    this.buffer[this.at++] = tag(field, WIRE_BYTES);
    this.varint(value.length);
    if (value.length > 32) {
      this.at += value.copy(this.buffer, this.at);
      return;
    }
    // Ids (8 and 16 bytes): a loop, not a call into C++.
    for (let i = 0; i < value.length; i++) this.buffer[this.at++] = value[i] as number;
  }

  string(field: number, value: string, size = utf8Size(value)): void {
    this.buffer[this.at++] = tag(field, WIRE_BYTES);
    this.varint(size);
    if (size !== value.length) {
      this.at += this.buffer.write(value, this.at, size, 'utf8');
      return;
    }
    for (let i = 0; i < size; i++) this.buffer[this.at++] = value.charCodeAt(i);
  }

  /** The header of a nested message of `size` bytes; its content follows. */
  open(field: number, size: number): void {
    this.buffer[this.at++] = tag(field, WIRE_BYTES);
    this.varint(size);
  }

  raw(bytes: readonly number[]): void {
    for (const byte of bytes) this.buffer[this.at++] = byte;
  }

  uint(field: number, value: number): void {
    this.buffer[this.at++] = tag(field, WIRE_VARINT);
    this.varint(value);
  }

  /** Epoch ms → fixed64 nanoseconds, in plain numbers (µs are exact below 2^53; no BigInt per span). */
  timeNs(field: number, ms: number): void {
    this.buffer[this.at++] = tag(field, WIRE_FIXED64);
    const us = Math.round(ms * 1000);
    const usHigh = Math.floor(us / TWO_32);
    const lowNs = (us - usHigh * TWO_32) * 1000;
    const carry = Math.floor(lowNs / TWO_32);
    this.uint32(lowNs - carry * TWO_32);
    this.uint32(usHigh * 1000 + carry);
  }

  private uint32(value: number): void {
    this.buffer[this.at++] = value & 0xff;
    this.buffer[this.at++] = (value >>> 8) & 0xff;
    this.buffer[this.at++] = (value >>> 16) & 0xff;
    this.buffer[this.at++] = (value >>> 24) & 0xff;
  }

  double(field: number, value: number): void {
    this.buffer[this.at++] = tag(field, WIRE_FIXED64);
    this.buffer.writeDoubleLE(value, this.at);
    this.at += 8;
  }

  anyValue(value: AttributeValue): void {
    if (typeof value === 'string') this.string(1, value);
    else if (typeof value === 'boolean') this.uint(2, value ? 1 : 0);
    else if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && value >= 0) this.uint(3, value);
      else this.double(4, value);
    } else {
      let inner = 0;
      for (const item of value) inner += bytesFieldSize(anyValueSize(item));
      this.open(5, inner);
      for (const item of value) {
        this.open(1, anyValueSize(item));
        this.anyValue(item);
      }
    }
  }

  keyValues(field: number, attributes: SpanAttributes): void {
    for (const key in attributes) {
      const value = attributes[key] as AttributeValue;
      const size = keySize(key);
      const valueSize = anyValueSize(value);
      this.open(field, bytesFieldSize(size) + bytesFieldSize(valueSize));
      this.string(1, key, size);
      this.open(2, valueSize);
      this.anyValue(value);
    }
  }
}

function keyValuesSize(attributes: SpanAttributes): number {
  let size = 0;
  for (const key in attributes) size += bytesFieldSize(keyValueSize(key, attributes[key] as AttributeValue));
  return size;
}

const statusSize = (span: SpanData) => (span.statusMessage ? bytesFieldSize(utf8Size(span.statusMessage)) : 0) + 2;

/** Span.flags (field 16, fixed32: a two-byte tag, then 0x00000001 little-endian): the W3C sampled bit. */
const SPAN_FLAGS = [0x85, 0x01, 0x01, 0x00, 0x00, 0x00] as const;

/**
 * Appends one span to `out` as a ScopeSpans `spans` field (tag, length, Span message): a batch is these fields one
 * after the other, so spans are never copied or framed again.
 */
export function appendSpan(out: Out, span: SpanData): void {
  const nameSize = utf8Size(span.name);
  const size = bytesFieldSize(16) + bytesFieldSize(8) + (span.parentSpanId ? bytesFieldSize(8) : 0) + bytesFieldSize(nameSize)
    + 2 + 9 + 9 + keyValuesSize(span.attributes) + (span.statusCode !== 0 ? bytesFieldSize(statusSize(span)) : 0) + SPAN_FLAGS.length;
  out.reserve(bytesFieldSize(size));
  out.open(2, size);
  out.bytes(1, span.traceId);
  out.bytes(2, span.spanId);
  if (span.parentSpanId) out.bytes(4, span.parentSpanId);
  out.string(5, span.name, nameSize);
  out.uint(6, span.kind);
  out.timeNs(7, span.startMs);
  out.timeNs(8, span.endMs);
  out.keyValues(9, span.attributes);
  if (span.statusCode !== 0) {
    out.open(15, statusSize(span));
    if (span.statusMessage) out.string(2, span.statusMessage);
    out.uint(3, span.statusCode);
  }
  out.raw(SPAN_FLAGS);
}

/**
 * The resource and scope part of a request, encoded once: everything of an ExportTraceServiceRequest but the spans.
 * `encodeRequest` appends the spans inside it.
 */
export interface BatchPrefix {
  resource: Buffer;
  scope: Buffer;
}

export function batchPrefix(resource: SpanAttributes, scopeName: string): BatchPrefix {
  const res = new Out(keyValuesSize(resource));
  res.keyValues(1, resource);
  const scope = new Out(bytesFieldSize(Buffer.byteLength(scopeName)));
  scope.string(1, scopeName);
  return { resource: res.buffer, scope: scope.buffer };
}

/** An ExportTraceServiceRequest around spans appended by appendSpan. */
export function encodeRequest(prefix: BatchPrefix, spans: Buffer): Buffer {
  const scopeSpansSize = bytesFieldSize(prefix.scope.length) + spans.length;
  const resourceSpansSize = bytesFieldSize(prefix.resource.length) + bytesFieldSize(scopeSpansSize);
  const out = new Out(bytesFieldSize(resourceSpansSize));
  out.open(1, resourceSpansSize);
  out.bytes(1, prefix.resource);
  out.open(2, scopeSpansSize);
  out.bytes(1, prefix.scope);
  out.at += spans.copy(out.buffer, out.at);
  return out.buffer.subarray(0, out.at);
}
