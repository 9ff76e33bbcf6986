import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';

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
