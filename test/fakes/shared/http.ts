/** HTTP plumbing shared by the fake providers: the server, reading and parsing bodies, recording, cut replies, listen and close. */
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null (no body / not JSON). */
  body: unknown;
  receivedAt: number;
}

/** A keep-alive server with long timeouts, so benchmarks reuse their connections. */
export function createFakeServer(onRequest: RequestListener): Server {
  const server = http.createServer({ keepAlive: true, noDelay: true, keepAliveTimeout: 120_000 }, onRequest);
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
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** `http://host:port`, with an IPv6 host in brackets. */
export function origin(host: string, port: number): string {
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return `http://${urlHost}:${port}`;
}

/** Stops listening and ends every connection, idle or not. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
