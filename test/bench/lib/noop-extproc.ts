/**
 * A diagnostic floor for the overhead benchmark (BENCH_NOOP_EXTPROC=1): Tollgate's own ext_proc transport
 * (src/extproc/server.ts, same messages) with a handler that does only what routing needs (route
 * header, provider credential, route cache refresh) and no stages, logging or metrics. Envoy + this vs Envoy +
 * Tollgate separates the cost of the gRPC transport from the cost of the pipeline.
 *
 *   node test/bench/lib/noop-extproc.ts --port 0 --route openai --credential KEY   → prints NOOP_EXTPROC_PORT=<port>
 *
 * --transport http2|grpc-js|h2-lite (or NOOP_EXTPROC_TRANSPORT) picks the ext_proc transport (default: startExtProcServer's).
 */
import http2 from 'node:http2';
import { pino } from 'pino';
import { startExtProcServer, type ExtProcServerOptions } from '../../../src/extproc/server.ts';
import type { PhaseEvent, PhaseReply, StreamHandler } from '../../../src/pipeline/phases.ts';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : (process.argv[at + 1] ?? fallback);
}

const route = option('--route', 'openai');
const credential = option('--credential', '');
const transport = option('--transport', process.env.NOOP_EXTPROC_TRANSPORT ?? '') || undefined;
if (transport !== undefined && !['http2', 'grpc-js', 'h2-lite'].includes(transport)) throw new Error(`unknown transport ${transport}`);

// --trace-sessions (--transport http2 only): report how each HTTP/2 session (one per Envoy worker) ends, on stderr.
if (process.argv.includes('--trace-sessions')) {
  const original = http2.createServer;
  (http2 as { createServer: typeof http2.createServer }).createServer = ((...args: Parameters<typeof http2.createServer>) => {
    const server = original(...args);
    let sessions = 0;
    server.on('session', (session) => {
      const id = ++sessions;
      let streams = 0;
      session.on('stream', () => { streams += 1; });
      const report = (what: string) => process.stderr.write(`session ${id} ${what} after ${streams} streams\n`);
      session.on('goaway', (code, lastStreamId) => report(`goaway received code=${code} last=${lastStreamId}`));
      session.on('frameError', (type, code) => report(`frameError type=${type} code=${code}`));
      session.on('error', (error) => report(`error ${error.message}`));
      session.on('close', () => report('closed'));
      process.stderr.write(`session ${id} opened\n`);
    });
    return server;
  }) as typeof http2.createServer;
}

class NoopHandler implements StreamHandler {
  async handle(event: PhaseEvent): Promise<PhaseReply> {
    if (event.phase === 'request_body') {
      return {
        kind: 'continue',
        phase: 'request_body',
        headers: { set: [['x-tollgate-route', route], ['authorization', `Bearer ${credential}`]], remove: [] },
        clearRouteCache: true,
      };
    }
    return { kind: 'continue', phase: event.phase };
  }

  close(): void {}
}

const server = await startExtProcServer({
  address: '127.0.0.1',
  port: Number(option('--port', '0')),
  newHandler: () => new NoopHandler(),
  transport: transport as ExtProcServerOptions['transport'],
  logger: pino({ level: 'silent' }),
});
process.stdout.write(`NOOP_EXTPROC_PORT=${server.port}\n`);
const stop = () => void server.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
