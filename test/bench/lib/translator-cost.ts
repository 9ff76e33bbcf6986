import type { ProviderAdapter, TranslateRequestInput } from '../../../src/providers/provider-adapter.ts';
import { timePerRun, type CpuTiming, type CpuTimingOptions } from './cpu-timing.ts';

/**
 * What translation costs in process, without Envoy, gRPC or the network: a provider adapter's response translator fed
 * a recorded stream, and its request translation. CPU time of this process (lib/cpu-timing.ts), which a shared
 * machine disturbs far less than end-to-end latency.
 */

/** Whole streams per measurement: a fresh translator each, as each request gets one. */
export const STREAM_TIMING: CpuTimingOptions = { warmupRuns: 200, batches: 25, runsPerBatch: 40 };
const REQUEST_TIMING: CpuTimingOptions = { warmupRuns: 2000, batches: 25, runsPerBatch: 2000 };

/**
 * A recorded stream (its SSE events, without the blank-line terminators) fed to a fresh translator one event per
 * call, as Envoy hands over reads that each hold one event when the provider's events are spaced out. Checked once
 * first: the translation must end cleanly (`[DONE]`, not truncated).
 */
export function streamTranslationCost(adapter: ProviderAdapter, events: string[], options: { clientWantsUsage: boolean; upstreamModel: string }): CpuTiming {
  const chunks = events.map((event) => Buffer.from(`${event}\n\n`));
  const last = chunks.length - 1;
  const info = {
    endpoint: 'chat' as const, stream: true, status: 200, clientWantsUsage: options.clientWantsUsage,
    requestId: 'bench', createdAt: 1_700_000_000, upstreamModel: options.upstreamModel,
  };
  const probe = adapter.translateResponse(info);
  const out = chunks.map((chunk, i) => probe.onChunk(chunk, i === last) ?? chunk).map((b) => b.toString('utf8')).join('');
  if (probe.truncated || !out.endsWith('data: [DONE]\n\n')) throw new Error('the recorded stream did not translate to a clean end');
  return timePerRun(() => {
    const translator = adapter.translateResponse(info);
    let bytes = 0;
    for (let i = 0; i <= last; i++) bytes += translator.onChunk(chunks[i] as Buffer, i === last)?.length ?? 0;
    return bytes;
  }, STREAM_TIMING);
}

/** A typical chat request (without `model`): system prompt, a short exchange, sampling settings, streamed. */
export const TYPICAL_CHAT_BODY = {
  messages: [
    { role: 'system', content: 'You are a concise assistant for an engineering team. Answer in plain English and cite the files you rely on.' },
    { role: 'user', content: 'Our gateway drops the usage chunk from streams when the client did not ask for it. Why would we ask the provider for usage at all?' },
    { role: 'assistant', content: 'Because metering needs the token counts: the gateway asks for them upstream and hides them again from clients that did not ask.' },
    { role: 'user', content: 'And what happens when the provider cuts the stream before it sends the usage?' },
  ],
  temperature: 0.7, top_p: 0.9, max_tokens: 512, stream: true, user: 'user-1234',
} as const;

export function requestTranslationCost(adapter: ProviderAdapter, input: TranslateRequestInput): { translate: CpuTiming; translate_and_serialize: CpuTiming } {
  return {
    translate: timePerRun(() => adapter.translateRequest(input), REQUEST_TIMING),
    // Tollgate serialises the translated body for Envoy on both paths (the passthrough rewrites `model` too).
    translate_and_serialize: timePerRun(() => JSON.stringify(adapter.translateRequest(input).body), REQUEST_TIMING),
  };
}
