import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileValidator, generatedValidator } from '../../../src/validation/precompiled.ts';
import { PRECOMPILED_SCHEMAS } from '../../../src/validation/schemas.ts';

const root = resolve(import.meta.dirname, '../../..');
const exampleConfig = () => parse(readFileSync(join(root, 'config/tollgate.yaml'), 'utf8')) as Record<string, unknown>;
const examplePricing = () => parse(readFileSync(join(root, 'config/pricing.yaml'), 'utf8')) as Record<string, unknown>;

/** Valid and invalid inputs per schema: defaults to fill, unknown fields, wrong types, oneOf, enum and pattern failures. */
const CASES: Record<string, unknown[]> = {
  config: [
    exampleConfig(),
    { ...exampleConfig(), listener: { port: 'eighty' } },
    { ...exampleConfig(), surprise: true },
    { ...exampleConfig(), store: { type: 'redis', end_phase_batch_ms: 500 } },
    { providers: { 'bad name!': { type: 'openai', base_url: 'ftp://x' } }, models: { m: { provider: 'p', targets: [] } }, orgs: {} },
  ],
  pricing: [examplePricing(), { prices: [{ model: 'x', effective_from: 'soon', input: -1 }] }],
  'policy-decision': [{ allow: true, reasons: [] }, { allow: 'yes' }, { allow: false, reasons: ['no'], max_tokens: 0 }],
  'chat-request': [
    { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    { model: 'm', messages: [{ role: 'wizard', content: 'hi' }] },
    { model: 'm', messages: [], n: 'two' },
  ],
  'embeddings-request': [{ model: 'e', input: ['a', 'b'] }, { model: 'e', input: 7 }],
  'feedback-request': [{ request_id: 'r', score: 1 }, { score: 'great' }],
};

describe('validators generated ahead of time', () => {
  it('exist for every fixed schema after setup, made from the current schema', () => {
    for (const spec of PRECOMPILED_SCHEMAS) expect(generatedValidator(spec), spec.name).not.toBeNull();
  });

  it('give the same verdicts, errors and filled-in defaults as compiling the schema', () => {
    for (const spec of PRECOMPILED_SCHEMAS) {
      const generated = generatedValidator(spec);
      const compiled = compileValidator(spec);
      if (!generated) throw new Error(`no generated validator for ${spec.name}`);
      for (const input of [...(CASES[spec.name] ?? []), {}, null, [], 'text']) {
        const a = structuredClone(input);
        const b = structuredClone(input);
        expect(generated(a), spec.name).toBe(compiled(b));
        expect(generated.errors ?? null, spec.name).toEqual(compiled.errors ?? null);
        expect(a, spec.name).toEqual(b);
      }
    }
    expect(Object.keys(CASES).sort()).toEqual(PRECOMPILED_SCHEMAS.map((spec) => spec.name).sort());
  });
});
