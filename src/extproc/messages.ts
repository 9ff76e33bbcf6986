import type { HeaderMap as ProtoHeaderMap } from '../generated/envoy/config/core/v3/HeaderMap.ts';
import type { HeaderValueOption } from '../generated/envoy/config/core/v3/HeaderValueOption.ts';
import type { CommonResponse } from '../generated/envoy/service/ext_proc/v3/CommonResponse.ts';
import type { ProcessingRequest__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { RESPONSE_HEADERS_NAMESPACE } from '../envoy/response-headers.ts';
import type { Struct__Output } from '../generated/google/protobuf/Struct.ts';
import type { Value__Output } from '../generated/google/protobuf/Value.ts';
import { JWT_METADATA_NAMESPACE } from '../envoy/edge.ts';
import type { Attributes, ContinueReply, HeaderEdits, HeaderMap, ImmediateReply, PhaseEvent, VerifiedJwt } from '../pipeline/phases.ts';
import { ATTRIBUTES_KEY, RESPONSE_CODE_ATTRIBUTE } from './attributes.ts';


/** Envoy sends header values in raw_value (bytes); `value` is only a fallback for older senders. */
function toHeaderMap(headers: ProtoHeaderMap | null | undefined): HeaderMap {
  const map: HeaderMap = new Map();
  for (const header of headers?.headers ?? []) {
    const key = header.key ?? '';
    const raw = header.raw_value;
    const value = raw && raw.length ? Buffer.from(raw as Uint8Array).toString('latin1') : (header.value ?? '');
    const existing = map.get(key);
    map.set(key, existing === undefined ? value : `${existing},${value}`);
  }
  return map;
}

/** The attributes Envoy sent with this message (only the first message of a phase carries them); strings and numbers. */
function toAttributes(request: ProcessingRequest__Output): Attributes | undefined {
  const fields = request.attributes?.[ATTRIBUTES_KEY]?.fields;
  if (!fields) return undefined;
  const attributes: Attributes = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value.stringValue !== undefined && value.stringValue !== null) attributes[name] = value.stringValue;
    else if (value.numberValue !== undefined && value.numberValue !== null) attributes[name] = Number(value.numberValue);
  }
  return attributes;
}

function fromValue(value: Value__Output): unknown {
  switch (value.kind) {
    case 'stringValue': return value.stringValue;
    case 'numberValue': return Number(value.numberValue);
    case 'boolValue': return value.boolValue;
    case 'structValue': return value.structValue ? fromStruct(value.structValue) : {};
    case 'listValue': return (value.listValue?.values ?? []).map(fromValue);
    default: return null;
  }
}

function fromStruct(struct: Struct__Output): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) out[key] = fromValue(value);
  return out;
}

/**
 * The JWT payload jwt_authn verified, from the dynamic metadata Envoy forwards (forwarding_namespaces). jwt_authn
 * is the only writer of this namespace: a client cannot put anything here.
 */
function toVerifiedJwt(request: ProcessingRequest__Output): VerifiedJwt | undefined {
  const fields = request.metadata_context?.filter_metadata?.[JWT_METADATA_NAMESPACE]?.fields;
  if (!fields) return undefined;
  for (const [provider, value] of Object.entries(fields)) {
    if (value.kind === 'structValue' && value.structValue) return { provider, claims: fromStruct(value.structValue) };
  }
  return undefined;
}

export function toPhaseEvent(request: ProcessingRequest__Output): PhaseEvent | null {
  const attributes = toAttributes(request);
  const withAttributes = attributes ? { attributes } : {};
  switch (request.request) {
    case 'request_headers': {
      const verifiedJwt = toVerifiedJwt(request);
      return {
        phase: 'request_headers',
        headers: toHeaderMap(request.request_headers?.headers),
        endOfStream: request.request_headers?.end_of_stream ?? false,
        ...withAttributes,
        ...(verifiedJwt ? { verifiedJwt } : {}),
      };
    }
    case 'request_body':
      return {
        phase: 'request_body',
        body: request.request_body?.body ?? Buffer.alloc(0),
        endOfStream: request.request_body?.end_of_stream ?? false,
        ...withAttributes,
      };
    case 'response_headers':
      return {
        phase: 'response_headers',
        headers: toHeaderMap(request.response_headers?.headers),
        endOfStream: request.response_headers?.end_of_stream ?? false,
        ...withAttributes,
      };
    case 'response_body': {
      const status = attributes?.[RESPONSE_CODE_ATTRIBUTE];
      return {
        phase: 'response_body',
        body: request.response_body?.body ?? Buffer.alloc(0),
        endOfStream: request.response_body?.end_of_stream ?? false,
        ...(status === undefined ? {} : { status: Number(status) }),
        ...withAttributes,
      };
    }
    default:
      return null;
  }
}

function setHeader(name: string, value: string): HeaderValueOption {
  return {
    header: { key: name, raw_value: Buffer.from(value, 'latin1') },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
  };
}

function headerMutation(edits: HeaderEdits | undefined) {
  if (!edits || (!edits.set.length && !edits.remove.length)) return null;
  return {
    set_headers: edits.set.map(([name, value]) => setHeader(name, value)),
    remove_headers: edits.remove,
  };
}

/** `{ <namespace>: { <header>: <value> } }` as a protobuf Struct. */
function responseHeadersMetadata(headers: Array<[string, string]>) {
  const fields: Record<string, { stringValue: string }> = {};
  for (const [name, value] of headers) fields[name] = { stringValue: value };
  return { fields: { [RESPONSE_HEADERS_NAMESPACE]: { structValue: { fields } } } };
}

export function toProcessingResponse(reply: ContinueReply | ImmediateReply): ProcessingResponse {
  if (reply.kind === 'immediate') {
    return {
      immediate_response: {
        status: { code: reply.status as never },
        headers: { set_headers: reply.headers.map(([name, value]) => setHeader(name, value)) },
        body: Buffer.from(reply.body),
        details: reply.details,
      },
    };
  }
  const common: CommonResponse = {};
  const mutation = headerMutation(reply.headers);
  if (mutation) common.header_mutation = mutation;
  if (reply.body) common.body_mutation = reply.body.length ? { body: reply.body } : { clear_body: true };
  if (reply.clearRouteCache) common.clear_route_cache = true;
  const response: ProcessingResponse = {};
  if (reply.responseHeaders?.length) response.dynamic_metadata = responseHeadersMetadata(reply.responseHeaders);
  if (reply.modeOverride) response.mode_override = reply.modeOverride;
  switch (reply.phase) {
    case 'request_headers':
      response.request_headers = { response: common };
      break;
    case 'response_headers':
      response.response_headers = { response: common };
      break;
    case 'request_body':
      response.request_body = { response: common };
      break;
    case 'response_body':
      response.response_body = { response: common };
      break;
  }
  return response;
}
