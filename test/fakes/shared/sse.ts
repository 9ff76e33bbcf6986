/** Server-sent events shared by the fake providers: writing prepared frames with pacing and an optional mid-stream cut. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { killResponse } from './http.ts';
import { tick } from './timers.ts';
import type { ServerTimers } from './timers.ts';

/** Pause between chunks: the `x-fake-chunk-delay-ms` header if it is a number, else `fallback`. */
export function chunkDelay(req: IncomingMessage, fallback: number): number {
  const dh = req.headers['x-fake-chunk-delay-ms'];
  return typeof dh === 'string' && dh !== '' && Number.isFinite(Number(dh)) ? Math.max(0, Number(dh)) : fallback;
}

/**
 * Writes `frames` one by one, `delayMs` apart (or a tick apart when 0). With `cutAfter`, sends at most that
 * many frames, never the last one, then kills the socket so the client sees a broken stream.
 */
export async function writeSse(
  res: ServerResponse,
  headers: OutgoingHttpHeaders,
  frames: string[],
  delayMs: number,
  cutAfter: number | undefined,
  timers: ServerTimers,
): Promise<void> {
  res.writeHead(200, headers);
  res.flushHeaders();
  const limit = cutAfter === undefined ? frames.length : Math.min(cutAfter, frames.length - 1);
  for (let i = 0; i < limit; i++) {
    if (i > 0) await (delayMs > 0 ? timers.sleep(delayMs) : tick());
    if (res.destroyed || timers.closed) return;
    res.write(frames[i]);
  }
  if (cutAfter !== undefined) {
    // let the written chunks leave before the socket dies
    await tick();
    killResponse(res);
    return;
  }
  res.end();
}
