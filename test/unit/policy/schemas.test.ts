import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { decisionSchema } from '../../../src/policy/decision.ts';
import { buildPolicyInput } from '../../../src/policy/input.ts';
import { UpstreamEdits, type RequestContext } from '../../../src/pipeline/context.ts';
import { projectRoot } from '../../helpers/policy-bundle.ts';

const readJson = async (path: string) => JSON.parse(await readFile(join(projectRoot, path), 'utf8')) as Record<string, unknown>;

function chatContext(): RequestContext {
  return {
    requestId: 'req-1',
    endpoint: 'chat',
    stream: true,
    model: 'gpt-4o',
    tenant: { org: 'acme', team: 'hr', app: 'assistant', user: null, feature: 'onboarding', keyId: 'k1' },
    body: {
      model: 'gpt-4o',
      max_tokens: 300,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Write to jane@acme-corp.com about the offer.' }],
    },
    routing: {
      alias: 'gpt-4o',
      candidates: [
        { provider: 'azure-eu', vendor: 'azure', region: 'eu', model: 'gpt-4o' },
        { provider: 'anthropic', vendor: 'anthropic', region: null, model: 'claude-sonnet-4-5' },
      ],
      excludedProviders: new Set(),
      allowedRegions: null,
      reasons: [],
    },
    upstream: new UpstreamEdits(),
  } as unknown as RequestContext;
}

describe('policy schemas', () => {
  it('policies/decision.schema.json is the schema the gateway validates decisions with', async () => {
    expect(await readJson('policies/decision.schema.json')).toEqual(JSON.parse(JSON.stringify(decisionSchema)));
  });

  it('the input the gateway builds matches policies/input.schema.json', async () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(await readJson('policies/input.schema.json'));
    const input = buildPolicyInput(chatContext(), { total: 1, types: { email: 1 } }, Date.UTC(2025, 0, 6, 3, 0));
    expect(validate(input), JSON.stringify(validate.errors)).toBe(true);
    expect(input).toEqual({
      endpoint: 'chat',
      stream: true,
      tenant: { org: 'acme', team: 'hr', app: 'assistant', user: null, feature: 'onboarding' },
      model: 'gpt-4o',
      variant: null,
      candidates: [
        { provider: 'azure-eu', vendor: 'azure', region: 'eu', model: 'gpt-4o' },
        { provider: 'anthropic', vendor: 'anthropic', region: null, model: 'claude-sonnet-4-5' },
      ],
      routing: { strategy: null, models: [] },
      // (9 + 41 characters) / 4 → 13, plus 4 per message.
      tokens: { prompt_estimate: 22, max_tokens: 300 },
      pii: { total: 1, types: { email: 1 } },
      guardrails: {},
      time: { unix_ms: 1736132400000, iso: '2025-01-06T03:00:00.000Z' },
    });
    expect(JSON.stringify(input)).not.toContain('jane@acme-corp.com');
  });

  it('the input schema rejects prompt text smuggled in', async () => {
    const validate = new Ajv({ strict: false }).compile(await readJson('policies/input.schema.json'));
    const input = buildPolicyInput(chatContext(), { total: 0, types: {} }, 0);
    expect(validate({ ...input, messages: [] })).toBe(false);
  });

  it('capabilities.json allows exactly the builtins the JavaScript WASM runtime implements', async () => {
    const ours = await readJson('policies/capabilities.json') as { builtins: Array<{ name: string }>; features: string[] };
    const sdk = await readJson('node_modules/@open-policy-agent/opa-wasm/capabilities.json') as { builtins: Array<{ name: string }> };
    expect(ours.builtins.map((b) => b.name).sort()).toEqual(sdk.builtins.map((b) => b.name).sort());
    expect(ours.builtins.map((b) => b.name)).not.toContain('http.send');
    expect(ours.features).toEqual(['rego_v1']);
  });
});
