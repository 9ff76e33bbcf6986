/**
 * Semantic-cache thresholds that hold a promised error rate, learned from verified outcomes.
 *
 * A verified outcome is one request whose best semantic match (similarity s) was NOT served: the request went to
 * the provider, and its fresh answer was compared with the stored one (src/cache/answer-agreement.ts). Each outcome
 * is counted in a similarity bucket (0.01 wide) of its calibration scope (tenant scope + model alias), as
 * "agreed" or "disagreed".
 *
 * The threshold is chosen by fixed-sequence testing ("Learn then Test", Angelopoulos et al. 2021), the same kind of
 * guarantee as error-bounded semantic caches (vCache, Schroeder et al. 2025) but per scope rather than per entry,
 * because a gateway sees far too few repeats of one entry to learn its own threshold. Candidate thresholds are
 * tested from 1.00 downwards; at each one, the outcomes with similarity at or above it give k disagreements in n,
 * and the threshold is certified when the Clopper-Pearson upper bound of the disagreement rate at the configured
 * confidence is at most `maxError`. Testing stops at the first threshold that fails, and the lowest certified one
 * is used. Thresholds above which fewer outcomes lie than could ever certify one are skipped, not failed: that
depends on the similarities only, not on the verdicts. Because the thresholds are tested in a fixed order and each
test is exact, the chance that the chosen
 * threshold's true disagreement rate exceeds `maxError` is at most 1 - confidence (no multiple-testing correction is
 * needed for a fixed sequence).
 *
 * What that promises: among requests whose best match is at or above the threshold, the rate of served answers
 * that the verifier would reject is at most `maxError`, with probability `confidence`, provided future requests
 * look like the verified ones (exchangeable). Exploration keeps verifying a share of would-be hits, so the counts
 * follow drift. Until a scope has the evidence (with no disagreement, about ln(1 - confidence) / ln(1 - maxError)
 * outcomes: 299 for 1 % at 95 %), nothing is served from the semantic cache there: an unproven threshold serves
 * nothing rather than guessing.
 */

export const BUCKETS = 101;

/** Verified outcomes of one calibration scope, per similarity bucket (index = floor(similarity * 100)). */
export interface OutcomeCounts {
  agreed: number[];
  disagreed: number[];
}

export function emptyOutcomes(): OutcomeCounts {
  return { agreed: new Array<number>(BUCKETS).fill(0), disagreed: new Array<number>(BUCKETS).fill(0) };
}

export function bucketOf(similarity: number): number {
  return Math.min(BUCKETS - 1, Math.max(0, Math.floor(similarity * 100 + 1e-9)));
}

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i += 1) sum += Math.log((n - k + i) / i);
  return sum;
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
function binomialCdf(k: number, n: number, p: number): number {
  if (p <= 0) return 1;
  if (p >= 1) return k >= n ? 1 : 0;
  let total = 0;
  for (let i = 0; i <= k; i += 1) total += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return Math.min(1, total);
}

/**
 * The exact (Clopper-Pearson) one-sided upper confidence bound of a rate after k events in n trials: the p at which
 * seeing k or fewer has probability 1 - confidence.
 */
export function upperBound(k: number, n: number, confidence: number): number {
  if (n <= 0 || k >= n) return 1;
  const alpha = 1 - confidence;
  if (k === 0) return 1 - Math.pow(alpha, 1 / n);
  let low = k / n;
  let high = 1;
  for (let i = 0; i < 60; i += 1) {
    const mid = (low + high) / 2;
    if (binomialCdf(k, n, mid) > alpha) low = mid;
    else high = mid;
  }
  return high;
}

export interface ErrorBoundPolicy {
  /** The promised ceiling on the rate of served answers the verifier would reject. */
  maxError: number;
  /** How sure the promise is: 1 - the chance the chosen threshold breaks it. */
  confidence: number;
  /** No threshold below this similarity is ever tested (and nothing below it is explored). */
  floor: number;
}

/** Outcomes needed before a threshold can be certified at all (all of them agreeing). */
export function evidenceNeeded(policy: Pick<ErrorBoundPolicy, 'maxError' | 'confidence'>): number {
  return Math.ceil(Math.log(1 - policy.confidence) / Math.log(1 - policy.maxError));
}

/** The lowest threshold the outcomes certify for the policy, or null when even 1.00 is not yet certified. */
export function certifiedThreshold(outcomes: OutcomeCounts, policy: ErrorBoundPolicy): number | null {
  const lowest = bucketOf(policy.floor);
  const needed = evidenceNeeded(policy);
  let n = 0;
  let k = 0;
  let certified: number | null = null;
  for (let bucket = BUCKETS - 1; bucket >= lowest; bucket -= 1) {
    const seen = (outcomes.agreed[bucket] ?? 0) + (outcomes.disagreed[bucket] ?? 0);
    // A bucket without outcomes is not tested: the threshold only goes as low as similarities that were verified.
    if (seen === 0) continue;
    n += seen;
    k += outcomes.disagreed[bucket] ?? 0;
    // Too few outcomes to certify even with no disagreement: not a test yet. Where the sequence starts depends on
    // how many outcomes there are, never on their verdicts, so the sequence stays fixed given the similarities.
    if (n < needed) continue;
    if (upperBound(k, n, policy.confidence) > policy.maxError) break;
    certified = Math.max(policy.floor, bucket / 100);
  }
  return certified;
}
