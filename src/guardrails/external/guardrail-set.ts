import type { GatewayMetrics } from '../../observability/metrics.ts';
import { azureContentSafetyClient } from './azure-content-safety.ts';
import type { ExternalGuardrailConfig } from './config.ts';
import { GuardrailCallError, type FetchLike } from './http.ts';
import { llamaGuardClient } from './llama-guard.ts';
import { presidioClient } from './presidio.ts';
import { promptInjectionClient } from './prompt-injection.ts';
import { topicsClient } from './topics.ts';
import type { GuardrailCheck, GuardrailClient, GuardrailInput, GuardrailVerdict } from './verdict.ts';

export interface ExternalGuardrail {
  config: ExternalGuardrailConfig;
  client: GuardrailClient;
}

/** Who is asking, to pick the guardrails whose `when` matches. */
export interface GuardrailScopeKey {
  team: string;
  app: string;
  model: string;
}

/** One guardrail's outcome; `check` is null when it failed (verdict.status error). */
export interface GuardrailOutcome {
  guardrail: ExternalGuardrail;
  verdict: GuardrailVerdict;
  check: GuardrailCheck | null;
}

export function createGuardrail(config: ExternalGuardrailConfig, env: NodeJS.ProcessEnv, fetchImpl?: FetchLike): ExternalGuardrail {
  const apiKey = config.api_key_env ? env[config.api_key_env]?.trim() || null : null;
  switch (config.type) {
    case 'presidio': return { config, client: presidioClient(config, apiKey, fetchImpl) };
    case 'llama_guard': return { config, client: llamaGuardClient(config, apiKey, fetchImpl) };
    case 'azure_content_safety': return { config, client: azureContentSafetyClient(config, apiKey, fetchImpl) };
    case 'prompt_injection': return { config, client: promptInjectionClient(config, apiKey, fetchImpl) };
    case 'topics': return { config, client: topicsClient(config, apiKey, fetchImpl) };
  }
}

const matches = (list: string[] | undefined, ...values: string[]) => !list || values.some((v) => list.includes(v));

/** The guardrails that apply to this direction and this tenant and route. */
export function selectGuardrails(all: readonly ExternalGuardrail[], direction: 'input' | 'output', key: GuardrailScopeKey): ExternalGuardrail[] {
  return all.filter(({ config }) => {
    if (config.applies_to !== 'both' && config.applies_to !== direction) return false;
    const when = config.when;
    return !when || (matches(when.teams, key.team) && matches(when.apps, key.app, `${key.team}/${key.app}`) && matches(when.models, key.model));
  });
}

/**
 * Calls every selected guardrail at once, each with its own timeout, and waits for all of them: the slowest one
 * (bounded by its timeout) sets the stage's latency. Every outcome is measured and counted.
 */
export async function runGuardrails(
  selected: readonly ExternalGuardrail[], input: GuardrailInput, metrics?: GatewayMetrics,
): Promise<GuardrailOutcome[]> {
  return Promise.all(selected.map(async (guardrail): Promise<GuardrailOutcome> => {
    const { config } = guardrail;
    const started = performance.now();
    let check: GuardrailCheck | null = null;
    let error: string | undefined;
    try {
      check = await guardrail.client.check(input, AbortSignal.timeout(config.timeout_ms));
    } catch (failure) {
      error = failure instanceof GuardrailCallError ? failure.reason : 'internal';
    }
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    const verdict: GuardrailVerdict = check
      ? { type: config.type, status: check.flagged ? 'flagged' : 'pass', findings: check.findings, latency_ms: latencyMs }
      : { type: config.type, status: 'error', findings: {}, latency_ms: latencyMs, ...(error ? { error } : {}) };
    if (metrics) {
      const labels = { guardrail: config.name, direction: input.direction };
      metrics.guardrailLatency.observe(labels, latencyMs / 1000);
      const counted = verdict.status === 'error' ? (config.on_error === 'open' ? 'failed_open' : 'failed_closed') : verdict.status;
      metrics.guardrailVerdicts.inc({ ...labels, verdict: counted });
    }
    return { guardrail, verdict, check };
  }));
}
