import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/audit-record.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { UpstreamEdits, type RequestContext, type RouteCandidate } from '../../../src/pipeline/context.ts';
import { loadPolicyBundle, type PolicyBundle } from '../../../src/policy/bundle.ts';
import { guardrailsStage } from '../../../src/stages/guardrails.ts';
import { policyStage } from '../../../src/stages/policy.ts';
import { allowedCandidates } from '../../../src/stages/route.ts';
import { buildPolicyBundle } from '../../helpers/policy-bundle.ts';

const anthropicUs: RouteCandidate = { provider: 'anthropic-us', vendor: 'anthropic', region: 'us', model: 'claude-sonnet-4-5' };
const openaiUs: RouteCandidate = { provider: 'openai-us', vendor: 'openai', region: 'us', model: 'gpt-4o' };
const azureEu: RouteCandidate = { provider: 'azure-eu', vendor: 'azure', region: 'eu', model: 'gpt-4o' };
const azureUs: RouteCandidate = { provider: 'azure-us', vendor: 'azure', region: 'us', model: 'gpt-4o' };
const MONDAY_10_HANOI = Date.UTC(2025, 0, 6, 3, 0);
const PROMPT = 'Contact jane.doe@acme-corp.com or +84 912 345 678 about CCCD 001099012345; key sk-proj-Q7vT2mXk9LpR4sW8nZ3bY6cH1dF5gJ0a.';

function context(team: string, candidates: RouteCandidate[], body: Record<string, unknown>): RequestContext {
  return {
    requestId: `req-${team}`,
    endpoint: 'chat',
    stream: false,
    model: String(body.model),
    tenant: { org: 'acme', team, app: 'assistant', user: null, feature: null, keyId: 'k' },
    body,
    routing: { alias: String(body.model), candidates, excludedProviders: new Set(), allowedRegions: null, reasons: [] },
    upstream: new UpstreamEdits(),
    cachePolicy: 'default',
    log: pino({ level: 'silent' }),
  } as unknown as RequestContext;
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra });

async function bundleOf(rego?: string): Promise<PolicyBundle> {
  const path = await buildPolicyBundle(rego ? { empty: true, rego: { 'tollgate/decision.rego': rego } } : {});
  return loadPolicyBundle(await readFile(path), { entrypoint: 'tollgate/decision' });
}

describe('policy stage', () => {
  let shipped: PolicyBundle;
  beforeAll(async () => {
    shipped = await bundleOf();
  });

  function run(ctx: RequestContext, bundle = shipped, failMode: 'closed' | 'open' = 'closed') {
    const audit: AuditRecord[] = [];
    guardrailsStage().onRequest?.(ctx);
    const stage = policyStage({ bundle: () => bundle, audit: (r) => audit.push(r), failMode: () => failMode, now: () => MONDAY_10_HANOI });
    const result = stage.onRequest?.(ctx) as { respond?: GatewayError } | undefined;
    return { error: result?.respond, audit };
  }

  it('HR + PII: Anthropic is never a candidate, national IDs and secrets are masked, caching forbidden, audited without content', () => {
    const ctx = context('hr', [anthropicUs, openaiUs], chat(PROMPT));
    const { error, audit } = run(ctx);
    expect(error).toBeUndefined();
    expect(allowedCandidates(ctx.routing).map((c) => c.provider)).toEqual(['openai-us']);
    expect(ctx.routing.reasons).toEqual(['team hr may not send personal data (email, national_id, phone, secret) to anthropic']);
    const content = (ctx.body?.messages as Array<{ content: string }>)[0]?.content;
    expect(content).toBe('Contact jane.doe@acme-corp.com or +84 912 345 678 about CCCD [REDACTED_NATIONAL_ID]; key [REDACTED_SECRET].');
    expect(ctx.upstream.bodyChanged).toBe(true);
    expect(ctx.cachePolicy).toBe('forbid');

    expect(audit).toHaveLength(1);
    const record = audit[0] as AuditRecord;
    expect(record).toMatchObject({
      request_id: 'req-hr',
      revision: shipped.revision,
      decision: 'allow',
      tenant: { org: 'acme', team: 'hr', app: 'assistant' },
      model: 'gpt-4o',
      pii: { total: 4, types: { email: 1, phone: 1, national_id: 1, secret: 1 } },
      result: { allowed_providers: ['openai-us'], redact: ['national_id', 'secret'], cache: 'forbid' },
      error: null,
    });
    expect(record.input_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record.decision_id).toBe(ctx.policy?.decisionId);
    const text = JSON.stringify(record);
    for (const secret of ['jane.doe', '912 345', '001099012345', 'sk-proj', 'Contact']) expect(text).not.toContain(secret);
  });

  it('HR + PII with Anthropic as the only candidate leaves nothing to route (the route stage answers 403)', () => {
    const ctx = context('hr', [anthropicUs], chat('mail jane@acme-corp.com'));
    expect(run(ctx).error).toBeUndefined();
    expect(allowedCandidates(ctx.routing)).toEqual([]);
  });

  it('Finance: only Azure in the EU remains', () => {
    const ctx = context('finance', [openaiUs, azureUs, azureEu, anthropicUs], chat('Q3 forecast'));
    run(ctx);
    expect(allowedCandidates(ctx.routing).map((c) => c.provider)).toEqual(['azure-eu']);
    expect(ctx.routing.allowedRegions).toEqual(new Set(['eu']));
  });

  it('a region requirement narrows an existing one instead of widening it', () => {
    const ctx = context('finance', [azureEu], chat('hi'));
    ctx.routing.allowedRegions = new Set(['us']);
    run(ctx);
    expect(allowedCandidates(ctx.routing)).toEqual([]);
  });

  it('a denial is a 403 policy_denied with the reasons and the decision id', () => {
    const ctx = context('research', [openaiUs], chat('hello'));
    const { error, audit } = run(ctx);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 403, type: 'permission_error', code: 'policy_denied', message: 'Request denied by policy: team research may not use model gpt-4o.' });
    expect(error?.headers['x-tollgate-decision-id']).toBe(audit[0]?.decision_id);
    expect(audit[0]).toMatchObject({ decision: 'deny', reasons: ['team research may not use model gpt-4o'] });
  });

  it('caps max_tokens, on the field the client used', () => {
    const none = context('research', [openaiUs], { ...chat('hi'), model: 'gpt-4o-mini' });
    run(none);
    expect(none.body?.max_tokens).toBe(4096);
    const larger = context('research', [openaiUs], { ...chat('hi', { max_completion_tokens: 10_000 }), model: 'gpt-4o-mini' });
    run(larger);
    expect(larger.body?.max_completion_tokens).toBe(4096);
    expect(larger.body).not.toHaveProperty('max_tokens');
    const smaller = context('research', [openaiUs], { ...chat('hi', { max_tokens: 100 }), model: 'gpt-4o-mini' });
    run(smaller);
    expect(smaller.body?.max_tokens).toBe(100);
    expect(smaller.upstream.bodyChanged).toBe(false);
  });

  it('leaves a clean request untouched', () => {
    const ctx = context('platform', [anthropicUs, openaiUs], chat('Summarise the notes.'));
    const { audit } = run(ctx);
    expect(ctx.upstream.bodyChanged).toBe(false);
    expect(allowedCandidates(ctx.routing)).toHaveLength(2);
    expect(ctx.cachePolicy).toBe('default');
    expect(audit[0]?.decision).toBe('allow');
  });

  it('undefined decision denies', async () => {
    const bundle = await bundleOf('package tollgate\n\ndecision := {"allow": true} if input.model == "never"\n');
    const { error, audit } = run(context('platform', [openaiUs], chat('hi')), bundle);
    expect(error).toMatchObject({ status: 403, code: 'policy_denied', message: 'Request denied by policy: the policy produced no decision (undefined denies).' });
    expect(audit[0]).toMatchObject({ decision: 'deny', result: null, error: 'the policy produced no decision (undefined denies)' });
  });

  it('a malformed decision denies', async () => {
    // Well-formed on the load-time probe (no PII there), malformed when PII is present: redact names an unknown type.
    const bundle = await bundleOf(`package tollgate

decision := {
	"allow": true, "reasons": [], "allowed_providers": [], "required_region": null, "max_tokens": null, "cache": "allow",
	"redact": ["password"],
} if input.pii.total > 1

decision := {
	"allow": true, "reasons": [], "allowed_providers": [], "required_region": null, "max_tokens": null, "cache": "allow",
	"redact": [],
} if input.pii.total <= 1
`);
    const { error, audit } = run(context('platform', [openaiUs], chat('a@acme-corp.com b@acme-corp.com')), bundle);
    expect(error).toMatchObject({ status: 403, code: 'policy_denied' });
    expect(audit[0]?.error).toMatch(/malformed decision: \/redact\/0/);
  });

  describe('when evaluation itself fails (WASM memory exhausted)', () => {
    const exhausting = `package tollgate

default size := 1

size := input.tokens.max_tokens if is_number(input.tokens.max_tokens)

decision := {
	"allow": count(numbers.range(1, size)) > 0,
	"reasons": [], "allowed_providers": ["openai-us"], "required_region": null, "redact": [], "max_tokens": null, "cache": "allow",
}
`;
    // max_tokens drives the size of the array the policy builds: 10^8 numbers exceed the WASM memory cap.
    const huge = () => chat('hi', { max_tokens: 100_000_000 });
    let bundle: PolicyBundle;
    beforeAll(async () => {
      bundle = await bundleOf(exhausting);
    });

    it('fail closed answers 503 and calls no provider', () => {
      const ctx = context('platform', [openaiUs], huge());
      const { error, audit } = run(ctx, bundle, 'closed');
      expect(error).toMatchObject({ status: 503, code: 'policy_unavailable' });
      expect(audit[0]).toMatchObject({ decision: 'deny', error: expect.stringContaining('policy evaluation failed') });
    });

    it('fail open lets the request through, audited as such, and the next evaluation works again', () => {
      const ctx = context('platform', [openaiUs], huge());
      const { error, audit } = run(ctx, bundle, 'open');
      expect(error).toBeUndefined();
      expect(audit[0]).toMatchObject({ decision: 'allow', result: null });
      const next = run(context('platform', [openaiUs], chat('small')), bundle, 'closed');
      expect(next.error).toBeUndefined();
      expect(next.audit[0]?.decision).toBe('allow');
    });
  });
});
