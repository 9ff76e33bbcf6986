import { describe, expect, it } from 'vitest';
import { chainClusterName, chainMasks, maskOf, popcount, targetsOf } from '../../../src/envoy/chains.ts';

describe('chain subsets', () => {
  it('lists every subset of two or more targets', () => {
    expect(chainMasks(1)).toEqual([]);
    expect(chainMasks(2)).toEqual([0b11]);
    expect(chainMasks(3)).toEqual([0b011, 0b101, 0b110, 0b111]);
    expect(chainMasks(5)).toHaveLength(2 ** 5 - 1 - 5);
    expect(chainMasks(4).every((mask) => popcount(mask) >= 2)).toBe(true);
  });

  it('keeps chain order in a subset and maps allowed providers to the right mask', () => {
    const model = { kind: 'chat' as const, targets: [{ provider: 'a', model: 'x' }, { provider: 'b', model: 'y' }, { provider: 'c', model: 'z' }] };
    expect(targetsOf(model.targets, 0b101).map((t) => t.provider)).toEqual(['a', 'c']);
    expect(maskOf(model, new Set(['c', 'a']))).toBe(0b101);
    expect(maskOf(model, new Set(['b']))).toBe(0b010);
  });

  it('names clusters stably and distinctly, whatever characters the model name has', () => {
    expect(chainClusterName('smart', 3)).toBe(chainClusterName('smart', 3));
    expect(chainClusterName('smart', 3)).not.toBe(chainClusterName('smart', 5));
    expect(chainClusterName('a/b', 3)).not.toBe(chainClusterName('a_b', 3));
    expect(chainClusterName('a/b c', 3)).toMatch(/^[A-Za-z0-9_.-]+$/);
  });
});
