import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyBundle, PolicyBundleError, type PolicyBundle } from '../../../src/policy/bundle.ts';
import { checkDecision } from '../../../src/policy/decision.ts';
import type { PolicyInput } from '../../../src/policy/input.ts';
import { readTarGz } from '../../../src/policy/tar.ts';
import { buildPolicyBundle } from '../../helpers/policy-bundle.ts';
import { tarOf } from './tar-writer.ts';

const ENTRYPOINT = 'tollgate/decision';
const encode = (input: PolicyInput) => new TextEncoder().encode(JSON.stringify(input));

// Providers as the gateway config declares them: vendor = provider type, region from config.
const anthropicUs = { provider: 'anthropic-us', vendor: 'anthropic', region: 'us', model: 'claude-sonnet-4-5' } as const;
const openaiUs = { provider: 'openai-us', vendor: 'openai', region: 'us', model: 'gpt-4o' } as const;
const azureEu = { provider: 'azure-eu', vendor: 'azure', region: 'eu', model: 'gpt-4o' } as const;
const azureUs = { provider: 'azure-us', vendor: 'azure', region: 'us', model: 'gpt-4o' } as const;
/** Monday 2025-01-06, 10:00 in Hanoi. */
const MONDAY_10_HANOI = Date.UTC(2025, 0, 6, 3, 0);

function input(team: string, overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    endpoint: 'chat',
    stream: false,
    tenant: { org: 'acme', team, app: 'assistant', user: 'u-1', feature: null },
    model: 'gpt-4o',
    variant: null,
    candidates: [anthropicUs, openaiUs, azureEu],
    routing: { strategy: null, models: [] },
    tokens: { prompt_estimate: 200, max_tokens: null },
    pii: { total: 0, types: {} },
    guardrails: {},
    time: { unix_ms: MONDAY_10_HANOI, iso: new Date(MONDAY_10_HANOI).toISOString() },
    ...overrides,
  };
}

function decide(bundle: PolicyBundle, value: PolicyInput) {
  const checked = checkDecision(bundle.evaluate(encode(value)));
  if (!('decision' in checked)) throw new Error(checked.problem);
  return checked.decision;
}

describe('the shipped policies, compiled to WASM and evaluated in process', () => {
  let bundle: PolicyBundle;
  let bundlePath: string;
  beforeAll(async () => {
    bundlePath = await buildPolicyBundle();
    bundle = await loadPolicyBundle(await readFile(bundlePath), { entrypoint: ENTRYPOINT });
  });

  it('HR may not send PII to Anthropic: Anthropic is dropped when the request carries PII', () => {
    const withPii = decide(bundle, input('hr', { model: 'smart', pii: { total: 2, types: { email: 1, national_id: 1 } } }));
    expect(withPii).toMatchObject({
      allow: true,
      allowed_providers: ['openai-us', 'azure-eu'],
      reasons: ['team hr may not send personal data (email, national_id) to anthropic'],
      redact: ['national_id'],
      cache: 'forbid',
    });
    const clean = decide(bundle, input('hr', { model: 'smart' }));
    expect(clean.allowed_providers).toEqual(['anthropic-us', 'openai-us', 'azure-eu']);
  });

  it('HR with PII and only Anthropic serving the model: nothing is left', () => {
    const decision = decide(bundle, input('hr', { candidates: [anthropicUs], pii: { total: 1, types: { phone: 1 } } }));
    expect(decision.allow).toBe(true);
    expect(decision.allowed_providers).toEqual([]);
  });

  it('Finance must use Azure OpenAI in the EU', () => {
    const decision = decide(bundle, input('finance', { candidates: [openaiUs, azureUs, azureEu, anthropicUs] }));
    expect(decision).toMatchObject({
      allow: true,
      allowed_providers: ['azure-us', 'azure-eu'],
      required_region: 'eu',
      reasons: ['team finance must stay in region eu', 'team finance must use azure'],
    });
  });

  it('the research team may use only its listed models, with a token cap', () => {
    expect(decide(bundle, input('research', { model: 'gpt-4o-mini' }))).toMatchObject({ allow: true, max_tokens: 4096 });
    expect(decide(bundle, input('research', { model: 'gpt-4o' }))).toMatchObject({
      allow: false,
      reasons: ['team research may not use model gpt-4o'],
    });
  });

  it('support works in Hanoi business hours only', () => {
    expect(decide(bundle, input('support')).allow).toBe(true);
    const saturday = Date.UTC(2025, 0, 11, 3, 0);
    const closed = decide(bundle, input('support', { time: { unix_ms: saturday, iso: new Date(saturday).toISOString() } }));
    expect(closed.allow).toBe(false);
    expect(closed.reasons[0]).toContain('business hours');
  });

  it('secrets are redacted for every team', () => {
    const decision = decide(bundle, input('platform', { pii: { total: 1, types: { secret: 1 } } }));
    expect(decision.redact).toEqual(['secret']);
  });

  it('names the bundle by a content hash that changes with data.json only when it differs', async () => {
    expect(bundle.revision).toMatch(/^[0-9a-f]{16}$/);
    const again = await loadPolicyBundle(await readFile(await buildPolicyBundle()), { entrypoint: ENTRYPOINT });
    expect(again.revision).toBe(bundle.revision);
    const changed = await loadPolicyBundle(await readFile(await buildPolicyBundle({ data: { tenants: {} } })), { entrypoint: ENTRYPOINT });
    expect(changed.revision).not.toBe(bundle.revision);
  });

  it('reads the bundle it was given: policy.wasm, data.json and the manifest', async () => {
    const files = readTarGz(await readFile(bundlePath));
    expect([...files.keys()].sort()).toEqual(expect.arrayContaining(['.manifest', 'data.json', 'policy.wasm', 'tollgate/decision.rego']));
    expect([...files.keys()].some((name) => name.endsWith('_test.rego'))).toBe(false);
  });
});

describe('bundles that must be rejected', () => {
  const load = (bytes: Buffer, entrypoint = ENTRYPOINT) => loadPolicyBundle(bytes, { entrypoint });

  it('garbage instead of a tar.gz', async () => {
    await expect(load(Buffer.from('not a bundle'))).rejects.toThrow(/not a policy bundle/);
  });

  it('a tar.gz without policy.wasm (a rego-only bundle)', async () => {
    const empty = gzipSync(Buffer.alloc(1024));
    await expect(load(empty)).rejects.toThrow(/has no policy.wasm/);
  });

  it('an entrypoint the bundle does not have', async () => {
    const bytes = await readFile(await buildPolicyBundle());
    await expect(load(bytes, 'tollgate/other')).rejects.toThrow(/no entrypoint tollgate\/other \(it has: tollgate\/decision\)/);
  });

  it('a policy whose decision does not match decision.schema.json', async () => {
    const bytes = await readFile(await buildPolicyBundle({
      empty: true,
      rego: { 'tollgate/decision.rego': 'package tollgate\n\ndecision := {"allow": "yes", "reasons": []}\n' },
    }));
    const error = await load(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyBundleError);
    expect((error as Error).message).toMatch(/malformed decision: .*(allow|required)/);
  });

  it('accepts a policy that is undefined on the probe (undefined denies at run time)', async () => {
    const bytes = await readFile(await buildPolicyBundle({
      empty: true,
      rego: { 'tollgate/decision.rego': 'package tollgate\n\ndecision := {"allow": true} if input.model == "never"\n' },
    }));
    const bundle = await load(bytes);
    expect(checkDecision(bundle.evaluate(encode(input('x'))))).toEqual({ problem: 'the policy produced no decision (undefined denies)' });
  });

  it('a corrupt data.json', async () => {
    const path = await buildPolicyBundle();
    const files = readTarGz(await readFile(path));
    expect(files.get('data.json')).toBeDefined();
    // Rebuild the archive by hand with broken JSON in data.json (same layout as opa build writes).
    files.set('data.json', Buffer.from('{"tenants": '));
    const broken = `${path}.broken`;
    await writeFile(broken, gzipSync(tarOf(files)));
    await expect(load(await readFile(broken))).rejects.toThrow(/data.json is not valid JSON/);
  });
});
