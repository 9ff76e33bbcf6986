import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/external_processor.ts';

/**
 * Loads Envoy's ext_proc service from the protos shipped by the pinned @grpc/grpc-js-xds package (never copied).
 * The loader options must match those given to proto-loader-gen-types (scripts/gen-proto-types).
 */
export function loadExternalProcessorService(): grpc.ServiceDefinition {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const definition = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => join(deps, dir)),
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  return loaded.envoy.service.ext_proc.v3.ExternalProcessor.service;
}
