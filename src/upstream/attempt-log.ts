import type { Attempt } from '../pipeline/context.ts';

/**
 * The attempts Envoy made for each request, as the upstream filter saw them (provider, model, status), kept until
 * the request-level filter collects them when the request ends. In-process: with several Tollgate processes behind
 * one Envoy an attempt may be seen by another process, and the request then lists only the answering attempt.
 * Entries nobody collects (a request whose request-level stream never ended cleanly) expire.
 */
export class AttemptLog {
  private readonly entries = new Map<string, { attempts: Attempt[]; at: number }>();
  private readonly ttlMs: number;
  private sweepAt = 0;

  constructor(ttlMs = 10 * 60_000) {
    this.ttlMs = ttlMs;
  }

  /** Records a new attempt; returns a handle to fill in its status. */
  begin(requestId: string, provider: string, model: string): Attempt {
    const now = Date.now();
    this.sweep(now);
    const attempt: Attempt = { provider, model, status: null };
    const entry = this.entries.get(requestId);
    if (entry) entry.attempts.push(attempt);
    else this.entries.set(requestId, { attempts: [attempt], at: now });
    return attempt;
  }

  /** How many attempts the request made so far. */
  count(requestId: string): number {
    return this.entries.get(requestId)?.attempts.length ?? 0;
  }

  /** The request's attempts in order, forgotten afterwards. */
  take(requestId: string): Attempt[] {
    const entry = this.entries.get(requestId);
    this.entries.delete(requestId);
    return entry?.attempts ?? [];
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 60_000;
    for (const [id, entry] of this.entries) if (now - entry.at > this.ttlMs) this.entries.delete(id);
  }
}
