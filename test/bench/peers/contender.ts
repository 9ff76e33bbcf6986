import type { IncomingHttpHeaders } from 'node:http';
import type { ProcessGroup } from '../lib/processes.ts';

/** One gateway (or none: direct) the peer benchmark sends the same load through, to the same fake provider. */
export interface Contender {
  /** Stable id, used by BENCH_CONTENDERS and in results/peers.json. */
  name: ContenderName;
  label: string;
  version: string;
  /** Where the load goes (http://127.0.0.1:PORT); requests use the OpenAI path /v1/chat/completions. */
  origin: string;
  headers: Record<string, string>;
  /** The gateway's own processes (their descendants count too): its RSS and CPU. Empty for direct. */
  roots: () => number[];
  /**
   * The same processes by what they are (tollgate, envoy, redis, portkey, litellm → root pids, descendants counting
   * too), for the CPU per request of each; without it, all of roots() under the contender's name.
   */
  processes?: () => Record<string, number[]>;
  /** How it is set up (auth, workers, stages…), recorded in the results file. */
  setup: Record<string, unknown>;
  /** Whether a smoke answer really went through this gateway: null when it did, else what is wrong. */
  verify?: (headers: IncomingHttpHeaders) => string | null;
}

/** tollgate-full-<N>p: every stage with N Tollgate processes behind the one Envoy (peers/tollgate.ts, tollgateFullWith). */
export type ContenderName = 'direct' | 'envoy' | 'tollgate-auth' | 'tollgate-full' | `tollgate-full-${number}p` | 'litellm' | 'litellm-auth' | 'portkey';

/** What a contender's start function gets. */
export interface StartContext {
  projectRoot: string;
  /** A temp dir of this run: configs and logs go here. */
  dir: string;
  group: ProcessGroup;
  /** Where peers/setup installed LiteLLM and Portkey. */
  peersDir: string;
  fake: { url: string; apiKey: string };
  model: string;
}

export interface ContenderSpec {
  name: ContenderName;
  /** One line for RESULTS.md: what this contender is. */
  description: string;
  start(ctx: StartContext): Promise<Contender>;
}

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;
