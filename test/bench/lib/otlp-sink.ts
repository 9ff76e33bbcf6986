/**
 * An OTLP receiver that accepts and drops (for test/bench/tracing.ts, in its own process so its CPU is not the
 * measured process's): OTLP/HTTP answers 200 with an empty ExportTraceServiceResponse, OTLP/gRPC the same in gRPC
 * framing. Tells its ports, and on request how many bytes it received, over IPC.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

let bytes = 0;
const httpServer = http.createServer((req, res) => {
  req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
const grpcServer = http2.createServer();
grpcServer.on('stream', (stream) => {
  stream.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    // One empty message: flag 0, length 0.
    stream.end(Buffer.alloc(5));
  });
});
await new Promise<void>((done) => httpServer.listen(0, '127.0.0.1', done));
await new Promise<void>((done) => grpcServer.listen(0, '127.0.0.1', done));
process.send?.({ http: (httpServer.address() as AddressInfo).port, grpc: (grpcServer.address() as AddressInfo).port });
process.on('message', () => process.send?.({ bytes }));
process.on('disconnect', () => process.exit(0));
