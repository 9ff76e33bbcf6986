/**
 * The client side of ext_proc for transport tests: Envoy's role, played by Node's own http2 client (or raw frames).
 * Encodes ProcessingRequests and decodes ProcessingResponses with the same proto definitions the server loads.
 */
import http2 from 'node:http2';
import { pino } from 'pino';
import type { ProcessingRequest } from '../../../src/generated/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse__Output } from '../../../src/generated/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { loadExternalProcessorService } from '../../../src/extproc/proto.ts';
import { startExtProcServer, type ExtProcServer } from '../../../src/extproc/server.ts';
import type { PhaseEvent, PhaseReply, StreamHandler } from '../../../src/pipeline/phases.ts';

const method = loadExternalProcessorService().Process as unknown as {
  path: string;
  requestSerialize(request: ProcessingRequest): Buffer;
  responseDeserialize(bytes: Buffer): ProcessingResponse__Output;
};
export const PROCESS_PATH = method.path;

/** One gRPC message: 5-byte prefix + protobuf. */
export function grpcMessage(request: ProcessingRequest): Buffer {
  const payload = method.requestSerialize(request);
  const framed = Buffer.alloc(5 + payload.length);
  framed.writeUInt32BE(payload.length, 1);
  payload.copy(framed, 5);
  return framed;
}

export function decodeResponses(data: Buffer): ProcessingResponse__Output[] {
  const out: ProcessingResponse__Output[] = [];
  for (let at = 0; at < data.length; ) {
    const length = data.readUInt32BE(at + 1);
    out.push(method.responseDeserialize(data.subarray(at + 5, at + 5 + length)));
    at += 5 + length;
  }
  return out;
}

export const headersMessage = (path = '/v1/chat/completions'): ProcessingRequest => ({
  request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from(path) }] }, end_of_stream: false },
});
export const bodyMessage = (body: Buffer, endOfStream = true): ProcessingRequest => ({ request_body: { body, end_of_stream: endOfStream } });
export const responseBodyMessage = (body: Buffer): ProcessingRequest => ({ response_body: { body, end_of_stream: true } });

/**
 * A handler that answers every phase: request bodies are echoed back as a body mutation (so large messages travel
 * both ways) unless `echoLimit` is exceeded, in which case only their length comes back, as header `x-length`.
 */
export class TestHandler implements StreamHandler {
  readonly events: PhaseEvent[] = [];
  closed: boolean | null = null;
  /** Set to hold every answer until release() (for calls that must stay in flight). */
  gate: Promise<void> | null = null;
  private readonly echoLimit: number;
  private readonly role: string;

  constructor(role: string, echoLimit = 1 << 20) {
    this.role = role;
    this.echoLimit = echoLimit;
  }

  async handle(event: PhaseEvent): Promise<PhaseReply> {
    this.events.push(event);
    if (this.gate) await this.gate;
    if (event.phase === 'request_body') {
      const big = event.body.length > this.echoLimit;
      return {
        kind: 'continue',
        phase: 'request_body',
        headers: { set: [['x-role', this.role], ['x-length', String(event.body.length)]], remove: [] },
        ...(big ? {} : { body: event.body }),
      };
    }
    return { kind: 'continue', phase: event.phase, headers: { set: [['x-role', this.role]], remove: [] } };
  }

  close(complete: boolean): void {
    this.closed = complete;
  }
}

export interface TestServer {
  server: ExtProcServer;
  url: string;
  /** Handlers in the order the server created them. */
  handlers: TestHandler[];
}

export async function startTestServer(options: { echoLimit?: number } = {}): Promise<TestServer> {
  const handlers: TestHandler[] = [];
  const make = (role: string) => () => {
    const handler = new TestHandler(role, options.echoLimit);
    handlers.push(handler);
    return handler;
  };
  const server = await startExtProcServer({
    address: '127.0.0.1',
    port: 0,
    transport: 'h2-lite',
    newHandler: make('request'),
    newAttemptHandler: make('upstream'),
    logger: pino({ level: 'silent' }),
  });
  return { server, url: `http://127.0.0.1:${server.port}`, handlers };
}

export interface CallResult {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  data: Buffer;
  responses: ProcessingResponse__Output[];
  /** DATA chunk sizes as the client saw them. */
  chunks: number[];
}

/** Opens a Process call, sends the messages (then half-closes unless told not to), collects everything. */
export function call(
  session: http2.ClientHttp2Session,
  messages: ProcessingRequest[],
  options: { path?: string; role?: string; end?: boolean; headers?: http2.OutgoingHttpHeaders } = {},
): { stream: http2.ClientHttp2Stream; result: Promise<CallResult> } {
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': options.path ?? PROCESS_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...options.headers,
  };
  if (options.role) headers['x-tollgate-filter'] = options.role;
  const stream = session.request(headers, { endStream: false });
  const result = new Promise<CallResult>((resolve, reject) => {
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => {
      const data = Buffer.concat(chunks);
      resolve({ headers: responseHeaders, trailers, data, responses: decodeResponses(data), chunks: chunks.map((c) => c.length) });
    });
  });
  for (const message of messages) stream.write(grpcMessage(message));
  if (options.end !== false) stream.end();
  return { stream, result };
}

export function connect(url: string, options: http2.ClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}
