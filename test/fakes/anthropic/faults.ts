/**
 * The Anthropic fake's faults: the shared ones (status, delay, hang, reset, cut-stream) plus `error-mid-stream`,
 * which sends the `event: error` (overloaded_error) the real API emits when it fails after a stream began.
 * Header form: `x-fake-fault: error-mid-stream=3` (after 3 events), combinable with shared segments.
 */
import type { IncomingMessage } from 'node:http';
import { parseFaultHeader } from '../shared/faults.ts';
import type { FakeFault, FaultQueue } from '../shared/faults.ts';

export type ErrorMidStreamFault = { kind: 'error-mid-stream'; afterChunks: number };
export type AnthropicFault = FakeFault | ErrorMidStreamFault;

const ERROR_MID_STREAM = /^\s*error-mid-stream\s*=\s*(\d+)\s*$/i;

/** Parses `x-fake-fault`; the shared parser handles (and rejects) everything but `error-mid-stream`. */
export function parseAnthropicFaultHeader(h: string): AnthropicFault[] {
  const own: AnthropicFault[] = [];
  const shared = h.split(';').filter((seg) => {
    const match = ERROR_MID_STREAM.exec(seg);
    if (match) own.push({ kind: 'error-mid-stream', afterChunks: Number(match[1]) });
    return !match;
  });
  return [...parseFaultHeader(shared.join(';')), ...own];
}

/** The faults for one request: the `x-fake-fault` header wins over the queue. Throws `FaultHeaderError`. */
export function anthropicFaultsFor(req: IncomingMessage, queue: FaultQueue<AnthropicFault>): AnthropicFault[] {
  const h = req.headers['x-fake-fault'];
  if (typeof h === 'string') return parseAnthropicFaultHeader(h);
  const f = queue.next();
  return f ? [f] : [];
}

/** Splits a request's faults into the shared ones and the error-mid-stream point (events before the error). */
export function splitFaults(faults: readonly AnthropicFault[]): { shared: FakeFault[]; errorAfter: number | undefined } {
  const shared: FakeFault[] = [];
  let errorAfter: number | undefined;
  for (const f of faults) {
    if (f.kind === 'error-mid-stream') errorAfter = f.afterChunks;
    else shared.push(f);
  }
  return { shared, errorAfter };
}
