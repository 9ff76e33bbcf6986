import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { appendSpan, batchPrefix, encodeRequest, Out } from '../../../src/observability/otlp/encode.ts';
import { parseTraceparent } from '../../../src/observability/tracing.ts';

/** The part of OTLP's trace protos the encoder writes, field numbers as in opentelemetry-proto (for decoding only). */
const OTLP_SUBSET = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message InstrumentationScope { string name = 1; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  Status status = 15; fixed32 flags = 16;
}
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; } }
message ArrayValue { repeated AnyValue values = 1; }
`;
const Request = protobuf.parse(OTLP_SUBSET).root.lookupType('ExportTraceServiceRequest');

describe('OTLP span encoding', () => {
  it('decodes as OTLP: ids, parent, name, kind, nanosecond times, typed attributes, status', () => {
    const out = new Out(16);
    const traceId = Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex');
    appendSpan(out, {
      traceId, spanId: Buffer.from('00f067aa0ba902b7', 'hex'), parentSpanId: Buffer.from('1111111111111111', 'hex'),
      name: 'chat gpt-4o-mini', kind: 1, startMs: 1_765_130_000_123.456, endMs: 1_765_130_000_200.5,
      attributes: {
        'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1234, 'tollgate.flag': true, 'x.ratio': 0.25,
        'gen_ai.response.finish_reasons': ['stop', 'length'], 'x.unicode': 'café ☕',
      },
      statusCode: 2, statusMessage: 'upstream_error',
    });
    appendSpan(out, { traceId, spanId: Buffer.from('2222222222222222', 'hex'), parentSpanId: null, name: 'stage auth', kind: 1, startMs: 1, endMs: 2, attributes: {}, statusCode: 0, statusMessage: '' });
    const body = encodeRequest(batchPrefix({ 'service.name': 'tollgate' }, 'tollgate'), out.buffer.subarray(0, out.at));
    const decoded = Request.toObject(Request.decode(body), { longs: String, bytes: String, defaults: false }) as any;
    const resourceSpans = decoded.resourceSpans[0];
    expect(resourceSpans.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'tollgate' } }]);
    expect(resourceSpans.scopeSpans[0].scope.name).toBe('tollgate');
    const [span, second] = resourceSpans.scopeSpans[0].spans;
    expect(Buffer.from(span.traceId, 'base64').toString('hex')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(Buffer.from(span.spanId, 'base64').toString('hex')).toBe('00f067aa0ba902b7');
    expect(Buffer.from(span.parentSpanId, 'base64').toString('hex')).toBe('1111111111111111');
    expect(span.name).toBe('chat gpt-4o-mini');
    expect(span.kind).toBe(1);
    expect(span.startTimeUnixNano).toBe('1765130000123456000');
    expect(span.endTimeUnixNano).toBe('1765130000200500000');
    expect(span.attributes).toEqual([
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.usage.input_tokens', value: { intValue: '1234' } },
      { key: 'tollgate.flag', value: { boolValue: true } },
      { key: 'x.ratio', value: { doubleValue: 0.25 } },
      { key: 'gen_ai.response.finish_reasons', value: { arrayValue: { values: [{ stringValue: 'stop' }, { stringValue: 'length' }] } } },
      { key: 'x.unicode', value: { stringValue: 'café ☕' } },
    ]);
    expect(span.status).toEqual({ message: 'upstream_error', code: 2 });
    expect(second.name).toBe('stage auth');
    expect(second.parentSpanId).toBeUndefined();
  });

  it('reads W3C traceparent, refusing malformed and all-zero ids', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled).toBe(false);
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toBeNull();
    expect(parseTraceparent('garbage')).toBeNull();
    expect(parseTraceparent(undefined)).toBeNull();
  });
});
