import net, { type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { StreamHandler } from '../pipeline/phases.ts';
import { FILTER_ROLE_METADATA } from './attributes.ts';
import { TRACEPARENT_HEADER } from '../observability/tracing.ts';
import { H2Connection, type H2Stream, type StreamEvents } from './h2-lite/connection.ts';
import { ErrorCode } from './h2-lite/frames.ts';
import { GrpcMessageReader } from './h2-lite/grpc-framing.ts';
import { encodeHeaderBlock, headerValue } from './h2-lite/hpack.ts';
import { decodeProcessingRequest } from './codec/decode-request.ts';
import { encodeReply } from './codec/encode-reply.ts';
import { ProcessSession, type SessionReply } from './process-session.ts';
import { PROCESS_PATH } from './proto.ts';
import type { ExtProcServer } from './server.ts';

/**
 * The ext_proc service on h2-lite: a minimal HTTP/2 server (src/extproc/h2-lite/) on node:net instead of
 * node:http2. Envoy is the only client and Process is the only method, so node:http2's general machinery (a Duplex
 * stream object per request, header object conversions, nextTicks, respond/trailers bookkeeping) is pure overhead:
 * behind Envoy at 500 requests/s the no-op ext_proc server (test/bench/lib/noop-extproc.ts) takes ~0.4-0.5 ms of CPU
 * per request on h2-lite against ~0.6-0.7 ms on node:http2. What remains is mostly socket syscalls (one write per
 * event-loop turn, see FrameWriter), protobuf and the session. The protobuf codec is hand-written for the ext_proc
 * messages (codec/), the session is the shared ProcessSession.
 */
export interface H2LiteServerOptions {
  address: string;
  port: number;
  socketPath?: string;
  /** The handler of one stream, from the request's x-tollgate-filter metadata (absent for the request filter). */
  handlerFor(role: string | undefined, traceparent: string | undefined): StreamHandler;
  logger: Logger;
}

const GRPC_RESPONSE = [[':status', '200'], ['content-type', 'application/grpc']] as const;
const RESPONSE_HEADERS = encodeHeaderBlock(GRPC_RESPONSE);
const OK_TRAILERS = encodeHeaderBlock([['grpc-status', '0']]);
/** A call that ends before any message was answered: headers and status in one block. */
const OK_TRAILERS_ONLY = encodeHeaderBlock([...GRPC_RESPONSE, ['grpc-status', '0']]);
const UNKNOWN_METHOD = encodeHeaderBlock([...GRPC_RESPONSE, ['grpc-status', '12'], ['grpc-message', 'unknown method']]);
/** As for the grpc-js transport: Envoy buffers bodies up to the configured limits, well below this. */
const MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;

/** Input of a stream nobody serves (unknown method): already answered, the rest is dropped. */
const IGNORED: StreamEvents = { data() {}, end() {}, closed() {} };

/**
 * One Process call: gRPC messages in, ProcessSession, gRPC messages and status out.
 *
 * The status goes out with the answer to the last message Envoy will send (the end of the response, or an immediate
 * response), not after Envoy half-closes: Envoy takes a server-closed stream after processing is complete as the
 * normal end, and it saves a socket write per request here (and a read in Envoy). The session still ends, as before,
 * when Envoy closes its side (END_STREAM, or RST_STREAM).
 */
class ProcessCall implements StreamEvents {
  private readonly stream: H2Stream;
  private readonly logger: Logger;
  private readonly session: ProcessSession;
  private readonly reader: GrpcMessageReader;
  private headersSent = false;
  /** Messages received that ProcessSession answers (one response each, in order), and responses written. */
  private answerable = 0;
  private answered = 0;
  /** Which answer (by count) is the last: the one to the end of the response. 0: not received yet. */
  private lastAnswer = 0;

  constructor(stream: H2Stream, handler: StreamHandler, logger: Logger) {
    this.stream = stream;
    this.logger = logger;
    this.session = new ProcessSession({
      handler,
      write: (response) => this.write(response),
      fail: (error) => this.fail(error),
      logger,
    });
    this.reader = new GrpcMessageReader((bytes) => this.message(bytes), MAX_MESSAGE_LENGTH);
  }

  data(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  end(): void {
    if (!this.reader.idle) return this.fail(new Error('stream ended inside a gRPC message'));
    this.session.end(() => this.finish());
  }

  closed(): void {
    this.session.abort();
  }

  private message(bytes: Buffer): void {
    const event = decodeProcessingRequest(bytes);
    // ProcessSession answers every phase event; trailers and unknown kinds (null) get no answer.
    if (event) {
      this.answerable += 1;
      if ((event.phase === 'response_headers' || event.phase === 'response_body') && event.endOfStream) this.lastAnswer = this.answerable;
    }
    this.session.message(event);
  }

  private write(reply: SessionReply): void {
    const stream = this.stream;
    if (stream.localEnded || stream.isClosed) return;
    // Response headers go out with the first message, in the same socket write.
    if (!this.headersSent) {
      this.headersSent = true;
      stream.respond(RESPONSE_HEADERS);
    }
    stream.write(encodeReply(reply)); // gRPC-framed already
    this.answered += 1;
    if (reply.kind === 'immediate' || this.answered === this.lastAnswer) this.finish();
  }

  private finish(): void {
    this.stream.end(this.headersSent ? OK_TRAILERS : OK_TRAILERS_ONLY);
  }

  /** As the http2 transport does: the stream is reset, and Envoy applies the filter's failure mode. */
  private fail(error: Error): void {
    this.logger.debug({ err: error }, 'ext_proc stream failed');
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
  }
}

/** The Process method on h2-lite connections: accepts sockets, tracks the connections for a graceful stop. */
export class ExtProcConnections {
  private readonly connections = new Set<H2Connection>();
  private readonly options: Pick<H2LiteServerOptions, 'handlerFor' | 'logger'>;

  constructor(options: Pick<H2LiteServerOptions, 'handlerFor' | 'logger'>) {
    this.options = options;
  }

  /** Serves one client connection (from net.Server; anything Socket-like in tests). */
  accept(socket: net.Socket): H2Connection {
    const connection = new H2Connection(socket, {
      onStream: (stream, fields) => this.openStream(stream, fields),
      onClose: () => this.connections.delete(connection),
      onError: (error) => this.options.logger.debug({ err: error }, 'ext_proc HTTP/2 connection error'),
    });
    this.connections.add(connection);
    return connection;
  }

  /** GOAWAY on every connection; each closes when its last stream is done. */
  shutdown(): void {
    for (const connection of this.connections) connection.shutdown();
  }

  destroy(): void {
    for (const connection of this.connections) connection.destroy();
  }

  private openStream(stream: H2Stream, fields: string[]): StreamEvents {
    if (headerValue(fields, ':path') !== PROCESS_PATH) {
      stream.end(UNKNOWN_METHOD);
      // The answer is complete; RST_STREAM(NO_ERROR) tells the client to stop sending (RFC 9113 §8.1).
      stream.reset(ErrorCode.NO_ERROR);
      return IGNORED;
    }
    const handler = this.options.handlerFor(headerValue(fields, FILTER_ROLE_METADATA), headerValue(fields, TRACEPARENT_HEADER));
    return new ProcessCall(stream, handler, this.options.logger);
  }
}

export async function startH2LiteServer(options: H2LiteServerOptions): Promise<ExtProcServer> {
  const connections = new ExtProcConnections(options);
  // noDelay: frames are already coalesced into one write per turn; Nagle would only hold them back.
  const server = net.createServer({ noDelay: true }, (socket) => connections.accept(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.socketPath) server.listen(options.socketPath, resolve);
    else server.listen(options.port, options.address, resolve);
  });
  return {
    port: options.socketPath ? 0 : (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Streams in flight get 3 s to finish after the GOAWAY; then the connections are cut.
        const force = setTimeout(() => connections.destroy(), 3000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        connections.shutdown();
      }),
  };
}
