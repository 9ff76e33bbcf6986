import { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { Stage, StageResult } from '../pipeline/stage.ts';
import type { KillSwitches, KillSwitchScope } from '../routing/kill-switches.ts';

const disabled = (scope: KillSwitchScope, name: string) =>
  new GatewayError({
    status: 503, type: 'api_error', code: `${scope}_disabled`,
    message: `The ${scope} \`${name}\` is switched off by the gateway operators; retry later or use another one.`,
  });

/**
 * Applies the operators' kill switches after the model is resolved: a switched-off model or feature is refused with
 * 503; a switched-off provider is removed from the candidates (the chain falls back to the others), and only when
 * none is left is the request refused.
 */
export function killSwitchStage(deps: { switches: KillSwitches }): Stage {
  return {
    name: 'kill-switch',
    onRequest(ctx: RequestContext): StageResult {
      if (ctx.routing.candidates.length === 0) return;
      const switches = deps.switches;
      const model = ctx.routing.alias ?? ctx.model;
      if (model && switches.isOn('model', model)) return { respond: disabled('model', model) };
      const feature = ctx.tenant?.feature;
      if (feature && switches.isOn('feature', feature)) return { respond: disabled('feature', feature) };
      let remaining = 0;
      for (const candidate of ctx.routing.candidates) {
        if (!switches.isOn('provider', candidate.provider)) {
          remaining++;
          continue;
        }
        ctx.routing.excludedProviders.add(candidate.provider);
        ctx.routing.reasons.push(`provider ${candidate.provider} is switched off`);
      }
      if (remaining === 0) return { respond: disabled('provider', ctx.routing.candidates.map((c) => c.provider).join(', ')) };
    },
  };
}
