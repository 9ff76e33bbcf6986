import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { cacheConfigProblems } from '../cache/config.ts';
import { externalGuardrailProblems } from '../guardrails/external/config.ts';
import { configValidator } from './config-validator.ts';
import type { TollgateConfig } from './types.ts';

/** A config that failed validation; `problems` name the path of each bad field. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid config ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}


function describeAjvError(error: ErrorObject): string {
  const path = error.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
  if (error.keyword === 'additionalProperties') {
    return `${path}: unknown field "${String(error.params.additionalProperty)}"`;
  }
  if (error.keyword === 'propertyNames') return `${path}: invalid name "${String(error.params.propertyName)}"`;
  return `${path}: ${error.message ?? 'is invalid'}`;
}

/** Checks the references between sections, which JSON Schema cannot express. */
function crossReferenceProblems(config: TollgateConfig): string[] {
  const problems: string[] = [];
  for (const [modelName, model] of Object.entries(config.models)) {
    model.targets.forEach((target, index) => {
      if (!config.providers[target.provider]) {
        const path = model.provider ? `models.${modelName}.provider` : `models.${modelName}.targets.${index}.provider`;
        problems.push(`${path}: unknown provider "${target.provider}"`);
      }
    });
    const providers = model.targets.map((t) => t.provider);
    if (new Set(providers).size !== providers.length) {
      // Envoy tracks health per endpoint address: the same provider twice in one chain would share it.
      problems.push(`models.${modelName}.targets: a provider may appear only once in a chain`);
    }
  }
  const checkRetries = (path: string, retries: Partial<TollgateConfig['routing']['retries']> | undefined) => {
    const base = retries?.base_interval_ms ?? config.routing.retries.base_interval_ms;
    const max = retries?.max_interval_ms ?? config.routing.retries.max_interval_ms;
    if (max < base) problems.push(`${path}.max_interval_ms: must be at least base_interval_ms (${base})`);
  };
  checkRetries('routing.retries', config.routing.retries);
  for (const [modelName, model] of Object.entries(config.models)) if (model.retries) checkRetries(`models.${modelName}.retries`, model.retries);
  for (const [modelName, model] of Object.entries(config.models)) {
    if (!model.variants) continue;
    model.variants.forEach((variant, index) => {
      const target = Object.hasOwn(config.models, variant.model) ? config.models[variant.model] : undefined;
      if (!target) problems.push(`models.${modelName}.variants.${index}.model: unknown model "${variant.model}"`);
      else if (target.variants) problems.push(`models.${modelName}.variants.${index}.model: "${variant.model}" is itself an A/B test`);
      else if (target.kind !== model.kind) problems.push(`models.${modelName}.variants.${index}.model: "${variant.model}" has kind ${target.kind}, not ${model.kind}`);
    });
    const names = model.variants.map((v) => v.name);
    if (new Set(names).size !== names.length) problems.push(`models.${modelName}.variants: variant names must be unique`);
    if (model.variants.every((v) => v.weight === 0)) problems.push(`models.${modelName}.variants: at least one weight must be above 0`);
  }
  for (const [modelName, model] of Object.entries(config.models)) {
    if (!model.route) continue;
    const members = model.route.strategy === 'cost'
      ? model.route.models.map((name, index) => ({ name, path: `models.${modelName}.route.models.${index}` }))
      : [...model.route.routes.map((route, index) => ({ name: route.model, path: `models.${modelName}.route.routes.${index}.model` })),
        { name: model.route.default, path: `models.${modelName}.route.default` }];
    for (const { name, path } of members) {
      const member = Object.hasOwn(config.models, name) ? config.models[name] : undefined;
      if (!member) problems.push(`${path}: unknown model "${name}"`);
      else if (member.variants || member.route) problems.push(`${path}: "${name}" is itself a virtual model`);
      else if (member.kind !== 'chat' || model.kind !== 'chat') problems.push(`${path}: routing strategies serve chat models only`);
    }
    if (model.route.strategy === 'semantic' && !config.cache.embeddings_model) {
      problems.push(`models.${modelName}.route: semantic routing needs cache.embeddings_model (the embedding model it shares with the cache)`);
    }
    if (model.route.strategy === 'semantic' && model.route.timeout_ms >= config.envoy.message_timeout_ms) {
      // Envoy gives up on Tollgate after message_timeout_ms: the fallback to the default must come first.
      problems.push(`models.${modelName}.route.timeout_ms: must be below envoy.message_timeout_ms (${config.envoy.message_timeout_ms})`);
    }
  }
  for (const [modelName, model] of Object.entries(config.models)) {
    if (!model.cascade) continue;
    if (model.kind !== 'chat') problems.push(`models.${modelName}.cascade: cascades serve chat models only`);
    if (new Set(model.targets.map((t, i) => t.priority ?? i)).size < 2) problems.push(`models.${modelName}.cascade: needs targets in at least two priorities (the steps)`);
    // Latency balancing reorders the targets per request: the steps would lose their order.
    if (model.load_balancing?.policy === 'latency') problems.push(`models.${modelName}.cascade: a cascade cannot use latency balancing (its steps have an order)`);
    const signals = model.cascade.escalate_on;
    if (signals.includes('validator') && !model.cascade.validator) problems.push(`models.${modelName}.cascade.validator: the validator signal needs the validator's url`);
    if (signals.includes('logprob') && model.cascade.min_mean_logprob === undefined) problems.push(`models.${modelName}.cascade.min_mean_logprob: the logprob signal needs a threshold`);
    if (model.cascade.validator && model.cascade.validator.timeout_ms >= config.envoy.message_timeout_ms) {
      // Envoy waits message_timeout_ms for the upstream filter's answer: the validator must give up first.
      problems.push(`models.${modelName}.cascade.validator.timeout_ms: must be below envoy.message_timeout_ms (${config.envoy.message_timeout_ms})`);
    }
  }
  const checkModels = (path: string, list: string[] | undefined) => {
    for (const model of list ?? []) {
      if (!config.models[model]) problems.push(`${path}.models: unknown model "${model}"`);
    }
  };
  for (const [orgName, org] of Object.entries(config.orgs)) {
    for (const [teamName, team] of Object.entries(org.teams)) {
      checkModels(`orgs.${orgName}.teams.${teamName}`, team.models);
      for (const [appName, app] of Object.entries(team.apps)) {
        checkModels(`orgs.${orgName}.teams.${teamName}.apps.${appName}`, app?.models);
      }
    }
  }
  const checkTenant = (path: string, t: { org: string; team: string; app: string }) => {
    if (!config.orgs[t.org]?.teams[t.team]?.apps[t.app]) {
      problems.push(`${path}: unknown tenant ${t.org}/${t.team}/${t.app}`);
    }
  };
  config.keys.forEach((key, index) => checkTenant(`keys.${index}`, key));
  if (config.demo) checkTenant('demo', config.demo);
  for (const [step, tenant] of Object.entries(config.demo?.tour ?? {})) {
    if (!config.demo || !tenant) continue;
    checkTenant(`demo.tour.${step}`, { org: config.demo.org, team: tenant.team, app: tenant.app });
    if (tenant.model && !config.models[tenant.model]) problems.push(`demo.tour.${step}.model: unknown model "${tenant.model}"`);
  }
  problems.push(...cacheConfigProblems(config));
  problems.push(...externalGuardrailProblems(config.guardrails.external, config.envoy.message_timeout_ms));
  const tls = config.listener.tls;
  if (tls?.require_client_cert && !tls.client_ca_file) {
    problems.push('listener.tls.require_client_cert: needs client_ca_file (the CAs that sign client certificates)');
  }
  const issuers = new Map<string, string>();
  for (const [providerName, provider] of Object.entries(config.auth.jwt.providers)) {
    const other = issuers.get(provider.issuer);
    if (other) problems.push(`auth.jwt.providers.${providerName}.issuer: the same issuer as provider "${other}"`);
    issuers.set(provider.issuer, providerName);
  }
  if (config.store.type === 'redis' && !config.store.url && !config.store.url_env) {
    problems.push('store: a redis store needs url or url_env');
  }
  return problems;
}

/** Validates an already-parsed config object, filling defaults in place. */
export function validateConfig(raw: unknown, source = '(inline)'): TollgateConfig {
  const validateShape = configValidator();
  if (!validateShape(raw)) {
    throw new ConfigError(source, (validateShape.errors ?? []).map(describeAjvError));
  }
  const config = raw as unknown as TollgateConfig;
  for (const [modelName, model] of Object.entries(config.models)) {
    if (model.provider) model.targets = [{ provider: model.provider, model: model.upstream_model ?? modelName }];
    // An A/B alias has no targets of its own: its variants' models do.
    if (model.variants || model.route) model.targets = [];
    // A cascade step is asked once: a failure or an escalation moves to the next step, never back to the same one.
    if (model.cascade) model.retries = { ...model.retries, max: 0 };
    // Ajv fills no defaults inside oneOf branches: the route's are filled here.
    if (model.route?.strategy === 'cost') model.route.expected_output_tokens ??= 256;
    if (model.route?.strategy === 'semantic') {
      model.route.threshold ??= 0.5;
      model.route.timeout_ms ??= 100;
    }
    if (model.variants) {
      for (const variant of model.variants) variant.name ??= variant.model;
    }
  }
  // Apps written as `chatbot: {}` or `chatbot:` (null) both mean "no extra restrictions".
  for (const org of Object.values(config.orgs)) {
    for (const team of Object.values(org.teams)) {
      for (const appName of Object.keys(team.apps)) team.apps[appName] ??= {};
    }
  }
  const problems = crossReferenceProblems(config);
  if (problems.length) throw new ConfigError(source, problems);
  return config;
}

export function parseConfigText(text: string, source: string): TollgateConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(source, [`not valid YAML: ${(error as Error).message}`]);
  }
  return validateConfig(raw, source);
}

export function loadConfigFile(path: string): TollgateConfig {
  return parseConfigText(readFileSync(path, 'utf8'), path);
}
