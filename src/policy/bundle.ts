import { createHash } from 'node:crypto';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { checkDecision } from './decision.ts';
import type { PolicyInput } from './input.ts';
import { readTarGz } from './tar.ts';

/** A bundle that cannot be used; the message says why, in terms a policy author can act on. */
export class PolicyBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyBundleError';
  }
}

/** A loaded, checked bundle. Immutable: a reload builds a new one and swaps the reference. */
export interface PolicyBundle {
  /** sha256 of the compiled policy and its data (16 hex digits): what the audit log records. */
  readonly revision: string;
  /** The revision `opa build --revision` wrote into the manifest, if any. */
  readonly manifestRevision: string | null;
  readonly entrypoint: string;
  readonly loadedAt: string;
  /** Evaluates the entrypoint on a JSON-encoded input; undefined when no rule produced a value. */
  evaluate(input: Uint8Array): unknown;
}

/** WASM memory pages (64 KiB): inputs carry no prompt text, so a few pages suffice; the cap stops a runaway policy. */
const MEMORY = { initial: 8, maximum: 1024 } as const;

/** A realistic input every bundle must handle at load time without failing or returning a malformed decision. */
const PROBE_INPUT: PolicyInput = {
  endpoint: 'chat',
  stream: false,
  tenant: { org: 'probe', team: 'probe', app: 'probe', user: null, feature: null },
  model: 'probe-model',
  variant: null,
  candidates: [{ provider: 'probe-provider', vendor: 'openai', region: 'eu', model: 'probe-model' }],
  routing: { strategy: null, models: [] },
  tokens: { prompt_estimate: 10, max_tokens: null },
  pii: { total: 1, types: { email: 1 } },
  guardrails: { probe: { type: 'azure_content_safety', status: 'pass', findings: { Hate: { count: 1, score: 2 } } } },
  time: { unix_ms: 1_736_132_400_000, iso: '2025-01-06T03:00:00.000Z' },
};

function parseJson(bytes: Buffer | undefined, what: string): unknown {
  if (!bytes) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new PolicyBundleError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Loads an `opa build -t wasm` bundle (.tar.gz): policy.wasm, data.json and .manifest. It is rejected unless the
 * entrypoint exists and a probe evaluation returns a well-formed decision (or none), so a bad bundle never
 * replaces a good one.
 */
export async function loadPolicyBundle(bytes: Buffer, options: { entrypoint: string; now?: () => Date }): Promise<PolicyBundle> {
  let files: Map<string, Buffer>;
  try {
    files = readTarGz(bytes);
  } catch (error) {
    throw new PolicyBundleError(`not a policy bundle (.tar.gz from opa build): ${messageOf(error)}`);
  }
  const manifest = parseJson(files.get('.manifest'), '.manifest') as
    | { revision?: string; wasm?: Array<{ entrypoint?: string; module?: string }> }
    | undefined;
  const modulePath = manifest?.wasm?.find((entry) => entry.entrypoint === options.entrypoint)?.module?.replace(/^\/+/, '') ?? 'policy.wasm';
  const wasm = files.get(modulePath);
  if (!wasm) throw new PolicyBundleError(`the bundle has no ${modulePath}: build it with opa build -t wasm -e ${options.entrypoint}`);
  const data = parseJson(files.get('data.json'), 'data.json') ?? {};

  let policy: Awaited<ReturnType<typeof loadPolicy>>;
  try {
    policy = await loadPolicy(wasm, MEMORY);
  } catch (error) {
    throw new PolicyBundleError(`policy.wasm does not load: ${messageOf(error)}`);
  }
  const entrypoints = Object.keys(policy.entrypoints as Record<string, number>);
  if (!entrypoints.includes(options.entrypoint)) {
    throw new PolicyBundleError(`the bundle has no entrypoint ${options.entrypoint} (it has: ${entrypoints.join(', ') || 'none'})`);
  }
  try {
    policy.setData(data as object);
  } catch (error) {
    throw new PolicyBundleError(`data.json does not load into the policy: ${messageOf(error)}`);
  }
  const entrypointId = (policy.entrypoints as Record<string, number>)[options.entrypoint] as number;
  const evaluate = (input: Uint8Array): unknown => {
    // The SDK copies an ArrayBuffer into WASM memory as is: it must hold exactly the input.
    const exact = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength ? input.buffer : input.slice().buffer;
    const resultSet = policy.evaluate(exact, entrypointId) as Array<{ result: unknown }> | undefined;
    return resultSet?.[0]?.result;
  };

  let probe: unknown;
  try {
    probe = evaluate(new TextEncoder().encode(JSON.stringify(PROBE_INPUT)));
  } catch (error) {
    throw new PolicyBundleError(`the policy fails on a sample input: ${messageOf(error)}`);
  }
  const checked = checkDecision(probe);
  if (probe !== undefined && 'problem' in checked) throw new PolicyBundleError(`on a sample input, ${checked.problem}`);

  const revision = createHash('sha256').update(wasm).update(files.get('data.json') ?? '').digest('hex').slice(0, 16);
  return {
    revision,
    manifestRevision: manifest?.revision || null,
    entrypoint: options.entrypoint,
    loadedAt: (options.now?.() ?? new Date()).toISOString(),
    evaluate,
  };
}
