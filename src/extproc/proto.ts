import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import type { ProcessingRequest__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';

const SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

/**
 * The Process method's HTTP/2 path, which is all the h2-lite and http2 transports need from the service definition
 * (their protobuf codec is hand-written, codec/). Loading the definitions (proto-loader parsing Envoy's protos) costs
 * ~40 MB of RSS, so only the grpc-js transport and the codec's reference tests do it (a test checks this path).
 */
export const PROCESS_PATH = `/${SERVICE}/Process`;

/**
 * Loads Envoy's ext_proc service from the protos shipped by the pinned @grpc/grpc-js-xds package (never copied).
 * The loader options must match those given to proto-loader-gen-types (scripts/gen-proto-types).
 */
function loadDefinition(): protoLoader.PackageDefinition {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  // Required here, not imported at the top: see PROCESS_PATH.
  const loader = require('@grpc/proto-loader') as typeof protoLoader;
  return loader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => join(deps, dir)),
  });
}

let definition: protoLoader.PackageDefinition | null = null;
const packageDefinition = () => (definition ??= loadDefinition());

/** The service for @grpc/grpc-js. */
export function loadExternalProcessorService(): grpc.ServiceDefinition {
  return packageDefinition()[SERVICE] as unknown as grpc.ServiceDefinition;
}

/** The Process method's path and protobuf codec, for the plain HTTP/2 transport. */
export function processMethod(): {
  path: string;
  decodeRequest: (bytes: Buffer) => ProcessingRequest__Output;
  encodeResponse: (response: ProcessingResponse) => Buffer;
} {
  const method = (packageDefinition()[SERVICE] as protoLoader.ServiceDefinition).Process as protoLoader.MethodDefinition<object, object>;
  // "Continue, change nothing" is most answers (every response chunk of a passthrough): its bytes per phase never
  // change, so they are encoded once rather than converted and encoded on every message.
  const plain = new Map<string, Buffer>();
  const encodeResponse = (response: ProcessingResponse): Buffer => {
    const phase = plainContinuePhase(response);
    if (phase === null) return method.responseSerialize(response);
    let bytes = plain.get(phase);
    if (!bytes) {
      bytes = method.responseSerialize(response);
      plain.set(phase, bytes);
    }
    return bytes;
  };
  return {
    path: method.path,
    decodeRequest: (bytes) => method.requestDeserialize(bytes) as ProcessingRequest__Output,
    encodeResponse,
  };
}

/** The phase of a response that only says "continue" (no mutation, metadata or mode change); null otherwise. */
function plainContinuePhase(response: ProcessingResponse): string | null {
  let phase: string | null = null;
  for (const key in response) {
    if ((response as Record<string, unknown>)[key] === undefined) continue;
    if (phase !== null) return null;
    phase = key;
  }
  if (phase !== 'request_headers' && phase !== 'request_body' && phase !== 'response_headers' && phase !== 'response_body') return null;
  const common = (response as Record<string, { response?: object } | undefined>)[phase]?.response;
  if (!common) return null;
  for (const key in common) if ((common as Record<string, unknown>)[key] !== undefined) return null;
  return phase;
}
