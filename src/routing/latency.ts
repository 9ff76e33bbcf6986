/**
 * Latency-aware load balancing: an exponentially weighted moving average of the latency Tollgate sees per
 * deployment (model target), and the choice of the fastest one for the next request.
 *
 * Why Tollgate and not Envoy's client-side weighted round robin with ORCA: that needs every backend to report its
 * load (ORCA), which hosted LLM APIs never do; what we can observe is the latency of their answers, which Tollgate
 * already sees on every response. The choice is made per process from its own measurements, with no store round
 * trip: each Tollgate process converges on its own within a few requests.
 *
 * Exploration keeps the measurements honest: a share of requests (config `exploration`, 10 % by default) goes to a
 * random deployment instead of the fastest, so a deployment that was slow and recovered gets traffic back, and a
 * deployment never measured is tried first.
 */

/** Weight of the newest sample: about the last five answers dominate. */
const ALPHA = 0.3;

/**
 * A failed answer (5xx, reset, timeout) puts the deployment's average at this many times the slowest answer seen,
 * so a broken deployment stops being preferred at once (and exploration's answers bring it back when it recovers).
 */
const FAILURE_PENALTY = 2;

export class LatencyTracker {
  /** `<model>\n<provider>` → EWMA in ms. */
  private readonly averages = new Map<string, number>();
  private slowest = 0;

  private static key(model: string, provider: string): string {
    return `${model}\n${provider}`;
  }

  /** One answer's latency (response headers received, ms since the request arrived). */
  record(model: string, provider: string, ms: number): void {
    const key = LatencyTracker.key(model, provider);
    const previous = this.averages.get(key);
    this.averages.set(key, previous === undefined ? ms : previous + ALPHA * (ms - previous));
    if (ms > this.slowest) this.slowest = ms;
  }

  /** A deployment that failed to answer: behind every deployment measured (not an EWMA step: at once). */
  recordFailure(model: string, provider: string, ms: number): void {
    this.averages.set(LatencyTracker.key(model, provider), Math.max(ms, this.slowest) * FAILURE_PENALTY);
  }

  average(model: string, provider: string): number | undefined {
    return this.averages.get(LatencyTracker.key(model, provider));
  }

  /**
   * The index (into `providers`) of the deployment to prefer: an unmeasured one first, else with probability
   * `exploration` a random one, else the lowest average. `random` is injectable for tests.
   */
  choose(model: string, providers: readonly string[], exploration: number, random: () => number = Math.random): number {
    if (providers.length <= 1) return 0;
    if (random() < exploration) return Math.floor(random() * providers.length);
    let best = 0;
    let bestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < providers.length; i++) {
      const ms = this.averages.get(LatencyTracker.key(model, providers[i] as string));
      if (ms === undefined) return i;
      if (ms < bestMs) {
        bestMs = ms;
        best = i;
      }
    }
    return best;
  }
}
