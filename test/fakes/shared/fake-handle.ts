/**
 * The server around a fake provider and the handle it returns: listening (HTTP or HTTPS), counting and dispatching
 * requests, answering the fake's own bugs, and the handle's recorded requests, fault queue, reset and close. Each
 * fake brings only its request handler, its error shape and its URL path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultQueue } from './faults.ts';
import { closeServer, createFakeServer, listen, origin, readBody } from './http.ts';
import type { FakeTlsOptions } from './http.ts';
import type { ServerTimers } from './timers.ts';

/** What every fake hands back; `R` is what it records per request, `F` the faults it can be given. */
export interface FakeHandle<R, F> {
  readonly url: string;
  readonly port: number;
  readonly requests: R[];
  readonly requestCount: number;
  /** Queue a fault for the next `times` (default 1, may be Infinity) requests. */
  pushFault(f: F, times?: number): void;
  clearFaults(): void;
  /** Clears recorded requests, the request count and queued faults. */
  reset(): void;
  close(): Promise<void>;
}

/** Where a fake listens: the options every fake accepts. */
export interface FakeListenOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve HTTPS with this certificate and key instead of plain HTTP. */
  tls?: FakeTlsOptions;
}

/** The options every fake accepts besides its own. */
export interface FakeServerOptions extends FakeListenOptions {
  /** Pause between stream chunks or events (default 0; overridden per request by `x-fake-chunk-delay-ms`). */
  chunkDelayMs?: number;
  /** Default true. When false nothing is recorded in `requests` (benchmarks); `requestCount` still counts. */
  recordBodies?: boolean;
}

export interface FakeServerParts<R, F> {
  /** Appended to the origin to make `url`, e.g. `/v1`; '' for the bare origin. */
  basePath: string;
  /** Filled by `handle`; `reset()` empties it in place, so the handle's `requests` stays the same array. */
  requests: R[];
  faults: FaultQueue<F>;
  /** The fake's sleeps, all dropped by `close()` so a delayed or paced answer cannot outlive the server. */
  timers: ServerTimers;
  /** Answers one request; `raw` is its body, null when there was none. */
  handle(req: IncomingMessage, res: ServerResponse, raw: Buffer | null): Promise<void>;
  /** Answers a 500 with `message` in the provider's error shape. */
  sendInternalError(res: ServerResponse, message: string): void;
}

/** Starts the fake's server and resolves with its handle once it listens. */
export async function serveFake<R, F>(where: FakeListenOptions, parts: FakeServerParts<R, F>): Promise<FakeHandle<R, F>> {
  const host = where.host ?? '127.0.0.1';
  const { requests, faults, timers } = parts;
  let requestCount = 0;

  const server = createFakeServer((req, res) => {
    requestCount++;
    readBody(req, (raw) => {
      parts.handle(req, res, raw).catch((err: unknown) => {
        // A bug in the fake must reach the test as an answer, not a hang; an answer already begun can only be cut.
        const msg = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) parts.sendInternalError(res, `Fake provider internal error: ${msg}`);
        else res.destroy();
      });
    });
  }, { tls: where.tls });
  const port = await listen(server, where.port ?? 0, host);
  let closing: Promise<void> | undefined;

  return {
    url: `${origin(host, port, where.tls !== undefined)}${parts.basePath}`,
    port,
    get requests() {
      return requests;
    },
    get requestCount() {
      return requestCount;
    },
    pushFault(f: F, times = 1) {
      faults.push(f, times);
    },
    clearFaults() {
      faults.clear();
    },
    reset() {
      requests.length = 0;
      requestCount = 0;
      faults.clear();
    },
    close() {
      if (closing === undefined) {
        timers.stopAll();
        closing = closeServer(server);
      }
      return closing;
    },
  };
}
