import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ProcessingRequest__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import type { StreamHandler } from '../pipeline/phases.ts';
import { FILTER_ROLE_METADATA, UPSTREAM_ROLE } from './attributes.ts';
import { toPhaseEvent, toProcessingResponse } from './messages.ts';
import { loadExternalProcessorService } from './proto.ts';

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>;

export interface ExtProcServerOptions {
  address: string;
  port: number;
  /** Listen on this Unix socket instead of address:port. */
  socketPath?: string;
  /** Creates the per-request handler: one ext_proc stream is one HTTP request. */
  newHandler: () => StreamHandler;
  /** Creates the handler of one attempt, for streams of the upstream (per-attempt) filter. */
  newAttemptHandler?: () => StreamHandler;
  logger: Logger;
}

/**
 * The gRPC side of ext_proc: receives Envoy's messages in order, hands each to the request's handler and writes the
 * answer back. Messages of one stream are processed strictly in sequence (Envoy may pipeline streamed chunks).
 */
function serveProcessStream(call: ProcessCall, handler: StreamHandler, logger: Logger): void {
  let pending: Promise<void> = Promise.resolve();
  let sawResponseEnd = false;
  let closed = false;
  const close = (complete: boolean) => {
    if (closed) return;
    closed = true;
    handler.close(complete);
  };

  const processOne = async (request: ProcessingRequest__Output) => {
    const event = toPhaseEvent(request);
    if (!event) return; // trailers are not requested (mode SKIP); ignore anything else
    const reply = await handler.handle(event);
    if (reply.kind === 'immediate') sawResponseEnd = true;
    if ((event.phase === 'response_body' || event.phase === 'response_headers') && event.endOfStream) {
      sawResponseEnd = true;
    }
    if (!call.cancelled && call.writable) call.write(toProcessingResponse(reply));
  };

  call.on('data', (request: ProcessingRequest__Output) => {
    pending = pending.then(() => processOne(request)).catch((error: unknown) => {
      logger.error({ err: error }, 'ext_proc message failed');
      call.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  call.on('end', () => {
    void pending.then(() => {
      close(sawResponseEnd);
      call.end();
    });
  });
  call.on('cancelled', () => void pending.then(() => close(false)));
  call.on('error', () => void pending.then(() => close(false)));
  call.on('close', () => void pending.then(() => close(sawResponseEnd)));
}

export async function startExtProcServer(options: ExtProcServerOptions): Promise<{ port: number; stop(): Promise<void> }> {
  // A socket file left by a process that died would make the bind fail.
  if (options.socketPath) await rm(options.socketPath, { force: true });
  const server = new grpc.Server({
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(loadExternalProcessorService(), {
    Process: (call: ProcessCall) => {
      const upstream = options.newAttemptHandler && call.metadata.get(FILTER_ROLE_METADATA)[0] === UPSTREAM_ROLE;
      serveProcessStream(call, upstream ? (options.newAttemptHandler as () => StreamHandler)() : options.newHandler(), options.logger);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const target = options.socketPath ? `unix:${options.socketPath}` : `${options.address}:${options.port}`;
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 3000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
