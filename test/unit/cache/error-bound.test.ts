import { describe, expect, it } from 'vitest';
import { bucketOf, certifiedThreshold, emptyOutcomes, upperBound, type OutcomeCounts } from '../../../src/cache/error-bound.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';


describe('Clopper-Pearson upper bound', () => {
  it('matches published values', () => {
    // 0 events in n: 1 - alpha^(1/n) ("rule of three" for large n).
    expect(upperBound(0, 299, 0.95)).toBeLessThanOrEqual(0.01);
    expect(upperBound(0, 298, 0.95)).toBeGreaterThan(0.01);
    // 1 in 10, one-sided 95 %: 0.3942.
    expect(upperBound(1, 10, 0.95)).toBeCloseTo(0.3942, 3);
    // 5 in 100, one-sided 95 %: 0.1024.
    expect(upperBound(5, 100, 0.95)).toBeCloseTo(0.1024, 3);
    expect(upperBound(3, 3, 0.95)).toBe(1);
    expect(upperBound(0, 0, 0.95)).toBe(1);
  });
});

describe('certified threshold', () => {
  const policy = { maxError: 0.01, confidence: 0.95, floor: 0.7 };
  const withCounts = (rows: Array<[similarity: number, agreed: number, disagreed: number]>): OutcomeCounts => {
    const counts = emptyOutcomes();
    for (const [similarity, agreed, disagreed] of rows) {
      const bucket = bucketOf(similarity);
      counts.agreed[bucket] = (counts.agreed[bucket] ?? 0) + agreed;
      counts.disagreed[bucket] = (counts.disagreed[bucket] ?? 0) + disagreed;
    }
    return counts;
  };

  it('certifies nothing without evidence: an unproven scope serves no semantic hit', () => {
    expect(certifiedThreshold(emptyOutcomes(), policy)).toBeNull();
    expect(certifiedThreshold(withCounts([[0.95, 200, 0]]), policy)).toBeNull();
  });

  it('goes down to the lowest verified similarity whose bound holds, and stops at the first that fails', () => {
    expect(certifiedThreshold(withCounts([[0.95, 300, 0]]), policy)).toBe(0.95);
    // 0.90 adds agreements: still certified. 0.85 adds 20 disagreements: the bound fails and testing stops, even
    // though 0.75 below is clean.
    const counts = withCounts([[0.95, 300, 0], [0.9, 200, 0], [0.85, 10, 20], [0.75, 1000, 0]]);
    expect(certifiedThreshold(counts, policy)).toBe(0.9);
  });

  it('never goes below the floor', () => {
    expect(certifiedThreshold(withCounts([[0.5, 5000, 0]]), policy)).toBeNull();
    expect(certifiedThreshold(withCounts([[0.72, 5000, 0], [0.6, 5000, 0]]), policy)).toBe(0.72);
  });

  /**
   * The promise, tested: in a world where the chance that a stored answer is wrong falls with similarity, learn a
   * threshold from a sample of verified outcomes, then measure the true error rate above it exactly. Over many
   * worlds, the learned threshold may break the promised rate in at most 1 - confidence of them. A naive rule (the
   * observed rate under the promise) breaks it far more often, which shows the test can fail.
   */
  it('holds the promised error rate with the promised confidence (simulation)', () => {
    const random = seededRandom(42);
    const maxError = 0.05;
    const confidence = 0.9;
    // P(wrong | s): 50 % at 0.70, falling to ~1 % at 0.90 and near 0 above.
    const wrongAt = (s: number) => 1 / (1 + Math.exp((s - 0.7) * 25));
    const drawSimilarity = () => 0.7 + random() * 0.3;
    const trueErrorAbove = (t: number) => {
      // Exact over the uniform similarity distribution, on a fine grid.
      let wrong = 0;
      let count = 0;
      for (let s = t; s <= 1; s += 0.0005) {
        wrong += wrongAt(s);
        count += 1;
      }
      return count === 0 ? 0 : wrong / count;
    };
    const naiveThreshold = (counts: OutcomeCounts) => {
      let n = 0;
      let k = 0;
      let chosen: number | null = null;
      for (let bucket = 100; bucket >= 70; bucket -= 1) {
        n += (counts.agreed[bucket] ?? 0) + (counts.disagreed[bucket] ?? 0);
        k += counts.disagreed[bucket] ?? 0;
        if (n > 0 && k / n <= maxError) chosen = bucket / 100;
      }
      return chosen;
    };
    const worlds = 300;
    let broken = 0;
    let naiveBroken = 0;
    let certifiedWorlds = 0;
    for (let world = 0; world < worlds; world += 1) {
      const counts = emptyOutcomes();
      for (let i = 0; i < 400; i += 1) {
        const s = drawSimilarity();
        const row = random() < wrongAt(s) ? counts.disagreed : counts.agreed;
        row[bucketOf(s)] = (row[bucketOf(s)] ?? 0) + 1;
      }
      const threshold = certifiedThreshold(counts, { maxError, confidence, floor: 0.7 });
      if (threshold !== null) {
        certifiedWorlds += 1;
        if (trueErrorAbove(threshold) > maxError) broken += 1;
      }
      const naive = naiveThreshold(counts);
      if (naive !== null && trueErrorAbove(naive) > maxError) naiveBroken += 1;
    }
    // It does learn something (a useful threshold in most worlds)...
    expect(certifiedWorlds).toBeGreaterThan(worlds * 0.9);
    // ...and breaks the promise in at most 1 - confidence of the worlds.
    expect(broken / worlds).toBeLessThanOrEqual(1 - confidence);
    expect(naiveBroken / worlds).toBeGreaterThan(1 - confidence);
  });
});
