import { rm } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ProcessingRequest__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import type { StreamHandler, StreamHandlerFactory } from '../pipeline/phases.ts';
import { TRACEPARENT_HEADER } from '../observability/tracing.ts';
import { FILTER_ROLE_METADATA, UPSTREAM_ROLE } from './attributes.ts';
import { startH2LiteServer } from './h2-lite.ts';
import { decodeProcessingRequest } from './codec/decode-request.ts';
import { encodeReply } from './codec/encode-reply.ts';
import { toPhaseEvent, toProcessingResponse } from './messages.ts';
import { ProcessSession } from './process-session.ts';
import { loadExternalProcessorService, PROCESS_PATH } from './proto.ts';

export interface ExtProcServerOptions {
  address: string;
  port: number;
  /** Listen on this Unix socket instead of address:port. */
  socketPath?: string;
  /** Creates the per-request handler: one ext_proc stream is one HTTP request. */
  newHandler: StreamHandlerFactory;
  /** Creates the handler of one attempt, for streams of the upstream (per-attempt) filter. */
  newAttemptHandler?: StreamHandlerFactory;
  logger: Logger;
  /**
   * `h2-lite` (default): on a minimal HTTP/2 server of our own on node:net (h2-lite.ts), the least CPU per request;
   * `http2`: the one gRPC method served straight on Node's HTTP/2 server; `grpc-js`: through @grpc/grpc-js. Same
   * protobuf codec, same messages; see h2-lite.ts and startHttp2Server for why there are several.
   */
  transport?: 'http2' | 'grpc-js' | 'h2-lite';
}

export interface ExtProcServer {
  port: number;
  stop(): Promise<void>;
}

function handlerFor(options: ExtProcServerOptions, role: unknown, traceparent: unknown): StreamHandler {
  const parent = typeof traceparent === 'string' ? traceparent : undefined;
  return options.newAttemptHandler && role === UPSTREAM_ROLE ? options.newAttemptHandler(parent) : options.newHandler(parent);
}

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>;

async function startGrpcJsServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  // Loaded only for this transport (see PROCESS_PATH in proto.ts).
  const grpc = await import('@grpc/grpc-js');
  const server = new grpc.Server({
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(loadExternalProcessorService(), {
    Process: (call: ProcessCall) => {
      const session = new ProcessSession({
        handler: handlerFor(options, call.metadata.get(FILTER_ROLE_METADATA)[0], call.metadata.get(TRACEPARENT_HEADER)[0]),
        write: (reply) => {
          if (!call.cancelled && call.writable) call.write(toProcessingResponse(reply));
        },
        fail: (error) => call.destroy(error),
        logger: options.logger,
      });
      call.on('data', (request: ProcessingRequest__Output) => session.message(toPhaseEvent(request)));
      call.on('end', () => session.end(() => call.end()));
      for (const event of ['cancelled', 'error', 'close']) call.on(event, () => session.abort());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const target = options.socketPath ? `unix:${options.socketPath}` : `${options.address}:${options.port}`;
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
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

const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
/** gRPC's length-prefixed message framing: 1 byte "compressed" flag, 4 bytes big-endian length. */
const FRAME_HEADER = 5;

/**
 * The ext_proc service is one bidirectional-streaming method, so it is served directly on Node's HTTP/2 server:
 * gRPC framing, the hand-written ext_proc codec (codec/), status in trailers. This skips @grpc/grpc-js's generic
 * machinery (metadata objects, interceptors, per-message compression checks, call state), which costs more CPU per
 * message than the pipeline itself does (measured by test/bench/overhead.ts). Envoy is the only client.
 */
async function startHttp2Server(options: ExtProcServerOptions): Promise<ExtProcServer> {
  const server = http2.createServer({
    settings: { maxConcurrentStreams: 100_000, initialWindowSize: 4 * 1024 * 1024 },
    maxSessionMemory: 64,
  });
  server.on('stream', (stream, headers) => {
    if (headers[':path'] !== PROCESS_PATH) {
      stream.respond({ ...GRPC_HEADERS, 'grpc-status': '12', 'grpc-message': 'unknown method' }, { endStream: true });
      return;
    }
    stream.respond(GRPC_HEADERS, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    const session = new ProcessSession({
      handler: handlerFor(options, headers[FILTER_ROLE_METADATA], headers[TRACEPARENT_HEADER]),
      write: (reply) => {
        if (stream.destroyed || stream.closed) return;
        stream.write(encodeReply(reply)); // gRPC-framed already
      },
      fail: (error) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR, () => options.logger.debug({ err: error }, 'stream failed')),
      logger: options.logger,
    });
    let pending: Buffer | null = null;
    stream.on('data', (chunk: Buffer) => {
      let data = pending ? Buffer.concat([pending, chunk]) : chunk;
      while (data.length >= FRAME_HEADER) {
        const length = data.readUInt32BE(1);
        if (data.length < FRAME_HEADER + length) break;
        session.message(decodeProcessingRequest(data.subarray(FRAME_HEADER, FRAME_HEADER + length)));
        data = data.subarray(FRAME_HEADER + length);
      }
      pending = data.length ? data : null;
    });
    stream.on('end', () => session.end(() => {
      if (!stream.destroyed) stream.end();
    }));
    stream.on('aborted', () => session.abort());
    stream.on('close', () => session.abort());
    stream.on('error', () => session.abort());
  });
  server.on('sessionError', (error) => options.logger.debug({ err: error }, 'ext_proc HTTP/2 session error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.socketPath) server.listen(options.socketPath, resolve);
    else server.listen(options.port, options.address, resolve);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  return {
    port: options.socketPath ? 0 : (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, 3000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const session of sessions) session.close();
      }),
  };
}

export async function startExtProcServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  // A socket file left by a process that died would make the bind fail.
  if (options.socketPath) await rm(options.socketPath, { force: true });
  switch (options.transport ?? 'h2-lite') {
    case 'grpc-js': return startGrpcJsServer(options);
    case 'http2': return startHttp2Server(options);
    default: return startH2LiteServer({ ...options, handlerFor: (role, traceparent) => handlerFor(options, role, traceparent) });
  }
}
