import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../../src/config/load-config.ts';
import type { ModelVariant } from '../../../src/config/types.ts';
import { chooseVariant, fnv1a, variantKey } from '../../../src/routing/variants.ts';

const variants: ModelVariant[] = [{ name: 'control', model: 'a', weight: 9 }, { name: 'treatment', model: 'b', weight: 1 }];
const tenant = { org: 'acme', team: 't', app: 'x', user: 'u1', feature: null, keyId: 'k' };

describe('A/B variant assignment', () => {
  it('is a stable hash: the same caller always gets the same variant', () => {
    expect(fnv1a('hello')).toBe(0x4f9f2cab);
    const first = chooseVariant('alias', 'acme/user/u1', variants, () => true);
    for (let i = 0; i < 10; i++) expect(chooseVariant('alias', 'acme/user/u1', variants, () => true)).toBe(first);
  });

  it('splits callers by weight', () => {
    let treatment = 0;
    for (let i = 0; i < 10_000; i++) if (chooseVariant('alias', `acme/user/${i}`, variants, () => true)?.name === 'treatment') treatment++;
    expect(treatment).toBeGreaterThan(800);
    expect(treatment).toBeLessThan(1200);
  });

  it('chooses only among eligible variants, and none when none is', () => {
    for (let i = 0; i < 100; i++) expect(chooseVariant('alias', `u${i}`, variants, (v) => v.name === 'treatment')?.name).toBe('treatment');
    expect(chooseVariant('alias', 'u', variants, () => false)).toBeNull();
  });

  it('keys on the user, else the app; or on app, team or org as configured', () => {
    const model = { kind: 'chat' as const, targets: [], variants };
    expect(variantKey(model, tenant)).toBe('acme/user/u1');
    expect(variantKey(model, { ...tenant, user: null })).toBe('acme/t/x');
    expect(variantKey({ ...model, variant_key: 'team' }, tenant)).toBe('acme/t');
    expect(variantKey({ ...model, variant_key: 'org' }, tenant)).toBe('acme');
  });

  it('validates variants: known models, no nesting, same kind, unique names', () => {
    const base = {
      providers: { p: { type: 'openai', base_url: 'http://127.0.0.1:1/v1' } },
      orgs: { acme: { teams: { t: { apps: { x: {} } } } } },
    };
    const ok = validateConfig({ ...base, models: { a: { provider: 'p' }, b: { provider: 'p' }, ab: { variants: [{ model: 'a' }, { model: 'b' }] } } });
    expect(ok.models.ab?.variants?.map((v) => [v.name, v.weight])).toEqual([['a', 1], ['b', 1]]);
    expect(ok.models.ab?.targets).toEqual([]);
    try {
      validateConfig({ ...base, models: { a: { provider: 'p' }, e: { provider: 'p', kind: 'embeddings' }, ab: { variants: [{ model: 'a' }, { model: 'nope' }] }, ab2: { variants: [{ model: 'ab' }, { model: 'e' }] } } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual(expect.arrayContaining([
        'models.ab.variants.1.model: unknown model "nope"',
        'models.ab2.variants.0.model: "ab" is itself an A/B test',
        'models.ab2.variants.1.model: "e" has kind embeddings, not chat',
      ]));
    }
  });
});
