import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProcessingRequest__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';

const SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

/**
 * Loads Envoy's ext_proc service from the protos shipped by the pinned @grpc/grpc-js-xds package (never copied).
 * The loader options must match those given to proto-loader-gen-types (scripts/gen-proto-types).
 */
function loadDefinition(): protoLoader.PackageDefinition {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
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
  return {
    path: method.path,
    decodeRequest: (bytes) => method.requestDeserialize(bytes) as ProcessingRequest__Output,
    encodeResponse: (response) => method.responseSerialize(response),
  };
}
