import { Pool } from 'undici';
import { MODEL } from './soak-rig.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

/**
 * Open-loop load with a realistic mix for the soak and chaos harnesses: request i is due at t0 + i/rps and sent then,
 * whatever earlier requests are doing; each request is drawn from a seeded generator as a JSON chat, a stream, a
 * tool call, a repeat of a fixed prompt (an exact-cache hit), with an injected provider fault, or a stream the client
 * abandons after its first chunk. Every request is recorded with its kind, timing, status and Tollgate's request id.
 *
 * A Node generator (the Go one sends one body to one URL): it shares the 2 cores with the system under test, so its
 * latency figures include its own scheduling delays.
 */

export type RequestKind = 'json' | 'stream' | 'tool' | 'repeat' | 'abort' | 'fault';
export const FAULTS = ['status=500', 'status=429', 'reset', 'cut-stream=2', 'hang'] as const;

export interface MixOptions {
  /** Fractions of all requests (the rest are JSON chats). Faults and aborts are drawn first. */
  stream: number;
  tool: number;
  repeat: number;
  fault: number;
  abort: number;
}

export const SOAK_MIX: MixOptions = { stream: 0.3, tool: 0.1, repeat: 0.05, fault: 0.01, abort: 0.05 };
/** Chaos: plain traffic (no injected faults), a quarter streams, so what fails is the chaos alone. */
export const CHAOS_MIX: MixOptions = { stream: 0.25, tool: 0.05, repeat: 0, fault: 0, abort: 0 };

export interface RequestRecord {
  index: number;
  kind: RequestKind;
  fault?: string;
  /** ms since the run's t0 at which it was due. */
  dueMs: number;
  sentLagMs: number;
  /** Headers received (ms from due time); NaN when none. */
  headersMs: number;
  /** Whole exchange done (ms from due time). */
  doneMs: number;
  status: number;
  requestId: string | null;
  cache: string | null;
  /** The start of a non-200 answer's body. */
  errorBody?: string;
  /** ok | aborted (by us, on purpose) | http-error | transport: <message> | stream-error (an error event or a cut) */
  outcome: string;
}


const TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];

interface Planned {
  kind: RequestKind;
  fault?: string;
  body: string;
  headers: Record<string, string>;
  stream: boolean;
}

function plan(index: number, random: () => number, mix: MixOptions, tag: string, faultCount: { n: number }): Planned {
  const r = random();
  const words = 'the quick brown fox jumps over the lazy dog while the gateway counts every token it sees'.split(' ');
  const prompt = `${tag}-${index} ${words.slice(0, 6 + (index % 8)).join(' ')}`;
  const chat = (extra: Record<string, unknown> = {}, text = prompt) =>
    JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: text }], max_tokens: 64, ...extra });
  let edge = mix.fault;
  if (r < edge) {
    // In turn, so even a short run meets every kind.
    const fault = FAULTS[faultCount.n++ % FAULTS.length] as string;
    // A cut stream needs a stream; the others go on either kind.
    const stream = fault === 'cut-stream=2' || random() < mix.stream;
    return {
      kind: 'fault', fault, stream,
      body: chat(stream ? { stream: true } : {}),
      headers: { 'x-fake-fault': fault, ...(stream ? { 'x-fake-chunk-delay-ms': '5' } : {}) },
    };
  }
  if (r < (edge += mix.abort)) {
    return { kind: 'abort', stream: true, body: chat({ stream: true }), headers: { 'x-fake-chunk-delay-ms': '40' } };
  }
  if (r < (edge += mix.stream)) {
    return { kind: 'stream', stream: true, body: chat({ stream: true, stream_options: { include_usage: true } }), headers: { 'x-fake-chunk-delay-ms': '5' } };
  }
  if (r < (edge += mix.tool)) {
    return { kind: 'tool', stream: false, body: chat({ tools: TOOLS }, `${prompt}: what is the weather in Hanoi?`), headers: {} };
  }
  if (r < (edge += mix.repeat)) {
    return { kind: 'repeat', stream: false, body: chat({}, `the same question every time (${index % 4})`), headers: {} };
  }
  return { kind: 'json', stream: false, body: chat(), headers: {} };
}

export interface MixedLoadOptions {
  origin: string;
  headers: Record<string, string>;
  rps: number;
  durationMs: number;
  mix: MixOptions;
  seed?: number;
  tag?: string;
  /** Per request, the whole exchange (default 30 s). */
  timeoutMs?: number;
  /** Called for each finished request. */
  onRecord?: (record: RequestRecord) => void;
  /** Set to stop sending early. */
  signal?: AbortSignal;
}

export interface MixedLoadRun {
  t0: number;
  records: RequestRecord[];
  /** Resolves when every request sent has ended. */
  done: Promise<RequestRecord[]>;
}

/** Starts the load; `done` resolves when the sending window is over and every request has ended. */
export function runMixedLoad(options: MixedLoadOptions): MixedLoadRun {
  const pool = new Pool(options.origin, { connections: 512, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const random = seededRandom(options.seed ?? 17);
  const faultCount = { n: 0 };
  const tag = options.tag ?? `soak${Date.now().toString(36)}`;
  const intervalMs = 1000 / options.rps;
  const total = Math.floor((options.durationMs / 1000) * options.rps);
  const records: RequestRecord[] = [];
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();

  const send = async (index: number, dueAt: number): Promise<void> => {
    const planned = plan(index, random, options.mix, tag, faultCount);
    const record: RequestRecord = {
      index, kind: planned.kind, ...(planned.fault ? { fault: planned.fault } : {}),
      dueMs: dueAt - t0, sentLagMs: performance.now() - dueAt, headersMs: Number.NaN, doneMs: Number.NaN,
      status: 0, requestId: null, cache: null, outcome: 'ok',
    };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error('client timeout')), options.timeoutMs ?? 30_000);
    try {
      const response = await pool.request({
        path: '/v1/chat/completions', method: 'POST',
        headers: { ...options.headers, ...planned.headers }, body: planned.body, signal: abort.signal,
      });
      record.headersMs = performance.now() - dueAt;
      record.status = response.statusCode;
      const id = response.headers['x-tollgate-request-id'];
      record.requestId = typeof id === 'string' ? id : null;
      const cache = response.headers['x-tollgate-cache'];
      record.cache = typeof cache === 'string' ? cache : null;
      let text = '';
      let chunks = 0;
      try {
        for await (const chunk of response.body) {
          chunks += 1;
          if (planned.kind === 'abort' && chunks >= 1 && response.statusCode === 200) {
            record.outcome = 'aborted';
            abort.abort(new Error('client gave up mid-stream'));
            break;
          }
          text += (chunk as Buffer).toString('utf8');
        }
      } catch (error) {
        if (record.outcome !== 'aborted') record.outcome = `stream-error: ${(error as Error).message}`;
      }
      if (response.statusCode !== 200) record.errorBody = text.slice(0, 240);
      if (record.outcome === 'ok') {
        if (response.statusCode !== 200) record.outcome = 'http-error';
        else if (planned.stream && (!text.includes('data: [DONE]') || text.includes('"error"'))) record.outcome = 'stream-error: no [DONE] or an error event';
      }
    } catch (error) {
      if (record.outcome !== 'aborted') record.outcome = `transport: ${(error as Error).message}`;
    } finally {
      clearTimeout(timer);
      record.doneMs = performance.now() - dueAt;
      records.push(record);
      options.onRecord?.(record);
    }
  };

  const done = (async () => {
    for (let index = 0; index < total; index++) {
      if (options.signal?.aborted) break;
      const dueAt = t0 + index * intervalMs;
      const wait = dueAt - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const p = send(index, dueAt);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    while (inflight.size) await Promise.all([...inflight]);
    await pool.close().catch(() => undefined);
    return records.sort((a, b) => a.index - b.index);
  })();
  return { t0, records, done };
}

/** Percentiles of a list of numbers (ms), rounded to 0.01. */
export function percentiles(values: number[]): { count: number; p50: number; p90: number; p99: number; max: number } {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (q: number) => sorted.length ? Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) * 100) / 100 : Number.NaN;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}
