/**
 * Fault injection shared by the fake providers: the `x-fake-fault` header parser, the queue filled by
 * `pushFault()`, and applying a request's faults (delay, hang, reset, status, cut-stream).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerTimers } from './timers.ts';

export type FakeFault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; retryAfterMs?: number; message?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'cut-stream'; afterChunks: number };

export type StatusFault = Extract<FakeFault, { kind: 'status' }>;

/** A malformed `x-fake-fault` header; each provider answers it in its own error shape. */
export class FaultHeaderError extends Error {}

const NO_FAULTS: readonly FakeFault[] = [];

export function parseFaultHeader(h: string): FakeFault[] {
  const faults: FakeFault[] = [];
  let status: StatusFault | undefined;
  for (const seg of h.split(';')) {
    const s = seg.trim();
    if (s === '') continue;
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : s.slice(eq + 1).trim();
    const num = Number(val);
    const needNum = (): number => {
      if (val === '' || !Number.isFinite(num) || num < 0) throw new FaultHeaderError(`Invalid x-fake-fault header: '${s}' needs a non-negative number.`);
      return num;
    };
    switch (key) {
      case 'status':
        status = { kind: 'status', status: needNum() };
        if (status.status < 100 || status.status > 599) throw new FaultHeaderError(`Invalid x-fake-fault header: bad status '${val}'.`);
        break;
      case 'retry-after':
        if (!status) throw new FaultHeaderError("Invalid x-fake-fault header: 'retry-after' must follow 'status='.");
        status.retryAfterSeconds = needNum();
        break;
      case 'retry-after-ms':
        if (!status) throw new FaultHeaderError("Invalid x-fake-fault header: 'retry-after-ms' must follow 'status='.");
        status.retryAfterMs = needNum();
        break;
      case 'message':
        if (!status) throw new FaultHeaderError("Invalid x-fake-fault header: 'message' must follow 'status='.");
        status.message = val;
        break;
      case 'delay':
        faults.push({ kind: 'delay', ms: needNum() });
        break;
      case 'hang':
        faults.push({ kind: 'hang' });
        break;
      case 'reset':
        faults.push({ kind: 'reset' });
        break;
      case 'cut-stream':
        faults.push({ kind: 'cut-stream', afterChunks: Math.floor(needNum()) });
        break;
      default:
        throw new FaultHeaderError(`Invalid x-fake-fault header: unknown fault '${key}'.`);
    }
  }
  if (status) faults.push(status);
  return faults;
}

/** Faults queued for the next requests, oldest first; each entry serves `remaining` requests. `F` lets a fake add its own kinds. */
export class FaultQueue<F = FakeFault> {
  readonly #entries: Array<{ fault: F; remaining: number }> = [];

  push(fault: F, times: number): void {
    if (times > 0) this.#entries.push({ fault, remaining: times });
  }

  clear(): void {
    this.#entries.length = 0;
  }

  next(): F | undefined {
    const head = this.#entries[0];
    if (!head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) this.#entries.shift();
    return head.fault;
  }
}

/** The faults for one request: the `x-fake-fault` header wins over the queue. Throws `FaultHeaderError`. */
export function faultsFor(req: IncomingMessage, queue: FaultQueue): readonly FakeFault[] {
  const fh = req.headers['x-fake-fault'];
  if (typeof fh === 'string') return parseFaultHeader(fh);
  const f = queue.next();
  return f ? [f] : NO_FAULTS;
}

/** After the faults ran: `null` = the request is answered or dropped; else go on, cutting after `cutAfter` chunks if set. */
export type FaultOutcome = null | { cutAfter: number | undefined };

const PROCEED: FaultOutcome = { cutAfter: undefined };

/** Runs a request's faults in order; `sendStatus` answers a status fault in the provider's error shape. */
export async function applyFaults(
  faults: readonly FakeFault[],
  req: IncomingMessage,
  res: ServerResponse,
  timers: ServerTimers,
  sendStatus: (f: StatusFault, extraHeaders: Record<string, string>) => void,
): Promise<FaultOutcome> {
  let cutAfter: number | undefined;
  for (const f of faults) {
    switch (f.kind) {
      case 'delay':
        await timers.sleep(f.ms);
        if (res.destroyed || timers.closed) return null;
        break;
      case 'hang':
        return null; // never answer; close() or the client ends the socket
      case 'reset':
        req.socket.destroy();
        return null;
      case 'status': {
        const extra: Record<string, string> = {};
        if (f.retryAfterSeconds !== undefined) extra['retry-after'] = String(f.retryAfterSeconds);
        // OpenAI-style APIs also give the hint in milliseconds; some send only that one.
        if (f.retryAfterMs !== undefined) extra['retry-after-ms'] = String(f.retryAfterMs);
        sendStatus(f, extra);
        return null;
      }
      case 'cut-stream':
        cutAfter = f.afterChunks;
        break;
    }
  }
  return cutAfter === undefined ? PROCEED : { cutAfter };
}

/** How a fake answers what the faults themselves answer, in its own error shape. */
export interface FaultAnswers {
  /** A malformed `x-fake-fault` header. */
  badHeader(message: string): void;
  /** A status fault; `extraHeaders` carries `retry-after` / `retry-after-ms` when the fault sets them. */
  status(f: StatusFault, extraHeaders: Record<string, string>): void;
}

/** Finds a request's faults (header or queue) and runs them; `null` = the request is answered or dropped. */
export async function runFaults(req: IncomingMessage, res: ServerResponse, queue: FaultQueue, timers: ServerTimers, answers: FaultAnswers): Promise<FaultOutcome> {
  let faults: readonly FakeFault[];
  try {
    faults = faultsFor(req, queue);
  } catch (e) {
    if (!(e instanceof FaultHeaderError)) throw e;
    answers.badHeader(e.message);
    return null;
  }
  return faults.length === 0 ? PROCEED : applyFaults(faults, req, res, timers, answers.status);
}
