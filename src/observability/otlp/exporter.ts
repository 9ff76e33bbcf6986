import http2 from 'node:http2';

/** Sends one encoded ExportTraceServiceRequest; rejects on failure (the batcher logs and drops the batch). */
export interface OtlpTransport {
  send(body: Buffer): Promise<void>;
  close(): void;
}

export interface TransportOptions {
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** OTLP/HTTP with protobuf bodies, to the full traces URL (`…/v1/traces`, Langfuse's `…/api/public/otel/v1/traces`). */
export function httpTransport(options: TransportOptions): OtlpTransport {
  const headers = { ...options.headers, 'content-type': 'application/x-protobuf' };
  return {
    async send(body) {
      const response = await fetch(options.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs) });
      // The body must be read for the connection to be reused; a partial-success body is not acted on.
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`OTLP/HTTP export answered ${response.status}`);
    },
    close() {},
  };
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** OTLP/gRPC over one HTTP/2 connection (reopened when it fails); `https://` endpoints use TLS. */
export function grpcTransport(options: TransportOptions): OtlpTransport {
  let session: http2.ClientHttp2Session | null = null;
  const connect = () => {
    if (session && !session.closed && !session.destroyed) return session;
    const opened = http2.connect(options.endpoint);
    opened.on('error', () => {
      if (session === opened) session = null;
    });
    opened.on('close', () => {
      if (session === opened) session = null;
    });
    opened.unref();
    session = opened;
    return opened;
  };
  return {
    send(body) {
      return new Promise<void>((resolve, reject) => {
        const frame = Buffer.allocUnsafe(5 + body.length);
        frame[0] = 0;
        frame.writeUInt32BE(body.length, 1);
        body.copy(frame, 5);
        const stream = connect().request({
          ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers', ...options.headers,
        });
        stream.setTimeout(options.timeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
        let status: string | undefined;
        let message = '';
        stream.on('response', (headers) => {
          // A trailers-only answer carries the status in the headers.
          if (headers['grpc-status'] !== undefined) {
            status = String(headers['grpc-status']);
            message = String(headers['grpc-message'] ?? '');
          }
        });
        stream.on('trailers', (trailers) => {
          status = String(trailers['grpc-status'] ?? status);
          message = String(trailers['grpc-message'] ?? message);
        });
        stream.on('data', () => undefined);
        stream.on('error', reject);
        stream.on('close', () => (status === '0' ? resolve() : reject(new Error(`OTLP/gRPC export failed: status ${status ?? 'none'} ${message}`))));
        stream.end(frame);
      });
    },
    close() {
      session?.close();
      session = null;
    },
  };
}
