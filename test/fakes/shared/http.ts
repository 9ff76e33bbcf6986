/** HTTP plumbing shared by the fake providers: the server (HTTP or HTTPS), reading and parsing bodies, recording, cut replies, listen and close. */
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null (no body / not JSON). */
  body: unknown;
  receivedAt: number;
}

/** A certificate chain and its private key, PEM-encoded (e.g. from `test/helpers/test-ca.ts`). */
export interface FakeTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Every fake serves plain HTTP by default, HTTPS when given `tls`; both have the same request API. */
export type FakeServer = http.Server | https.Server;

/**
 * A keep-alive server with long timeouts, so benchmarks reuse their connections. With `tls` it serves HTTPS, so
 * tests can exercise what real providers need (TLS origination, SNI, certificate checks) against the same fakes.
 */
export function createFakeServer(onRequest: RequestListener, options: { tls?: FakeTlsOptions } = {}): FakeServer {
  const common = { keepAlive: true, noDelay: true, keepAliveTimeout: 120_000 } as const;
  const server = options.tls
    ? https.createServer({ ...common, cert: options.tls.cert, key: options.tls.key }, onRequest)
    : http.createServer(common, onRequest);
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  return server;
}

/** Collects the request body; `onEnd` gets null when there was none. Copies only when it came in several chunks. */
export function readBody(req: IncomingMessage, onEnd: (raw: Buffer | null) => void): void {
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  req.on('data', (c: Buffer) => {
    if (first === null) first = c;
    else (chunks ??= [first]).push(c);
  });
  req.on('end', () => onEnd(chunks !== null ? Buffer.concat(chunks) : first));
}

/** What `parseJsonBody` returns for a body that is not JSON. */
export const BAD_JSON: unique symbol = Symbol('bad JSON');

/** The parsed body, null when there is none, or `BAD_JSON`. */
export function parseJsonBody(raw: Buffer | null): unknown {
  if (raw === null || raw.length === 0) return null;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return BAD_JSON;
  }
}

/** The URL without its query string. */
export function requestPath(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Kills the connection under a response. */
export function killResponse(res: ServerResponse): void {
  res.socket?.destroy();
  res.destroy();
}

/** Non-streaming cut: announce the full length, send half the body, then kill the socket. */
export function cutBody(res: ServerResponse, headers: OutgoingHttpHeaders, out: string): void {
  const buf = Buffer.from(out);
  res.writeHead(200, { ...headers, 'content-length': buf.length });
  res.write(buf.subarray(0, buf.length >> 1));
  setImmediate(() => killResponse(res));
}

/** Listens on `port` (0 = a free one) and resolves with the bound port. */
export async function listen(server: FakeServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** `http://host:port` (`https://` for a TLS server), with an IPv6 host in brackets. */
export function origin(host: string, port: number, secure = false): string {
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return `${secure ? 'https' : 'http'}://${urlHost}:${port}`;
}

/** Stops listening and ends every connection, idle or not. */
export function closeServer(server: FakeServer): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
