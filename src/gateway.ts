import { createHash } from 'node:crypto';
import { watchFileChanges, type FileChangeWatch } from './process/file-change-watch.ts';
import type { Logger } from 'pino';
import { startAdminServer } from './admin/server.ts';
import { createCacheBackend } from './cache/create-cache.ts';
import { ProviderEmbedder } from './cache/embeddings-client.ts';
import { ConfigHolder } from './config/config-holder.ts';
import { ConfigError, loadConfigFile } from './config/load-config.ts';
import type { TollgateConfig } from './config/types.ts';
import { renderEnvoyConfig } from './envoy/render-envoy-config.ts';
import { waitForEnvoyResources } from './envoy/envoy-process.ts';
import { writeEnvoyConfig } from './envoy/write-envoy-config.ts';
import { errors } from './errors/errors.ts';
import { startExtProcServer } from './extproc/server.ts';
import { KeyStore } from './keys/key-store.ts';
import { startLedger, type Ledger } from './ledger/ledger.ts';
import { createLogger } from './observability/logger.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { Tracing } from './observability/tracing.ts';
import { timedHandlers } from './observability/phase-timing.ts';
import { registerBudgetGauges } from './observability/budget-gauges.ts';
import { createPipeline } from './pipeline/runner.ts';
import { eagerRequestBody } from './cache/envoy-fallback.ts';
import { createQuota } from './quota/create-quota.ts';
import { startPolicyRuntime } from './policy/policy-runtime.ts';
import { KillSwitches } from './routing/kill-switches.ts';
import { CredentialResolver } from './providers/credentials.ts';
import { authStage, type StaticKeys } from './stages/auth.ts';
import { AuthFailureLimiter, DEFAULT_FAILURE_LIMIT } from './auth/failure-limiter.ts';
import { cacheStages } from './stages/cache.ts';
import { externalGuardrailsStage } from './stages/external-guardrails.ts';
import { guardrailsStage } from './stages/guardrails.ts';
import { outputGuardrailsStage } from './stages/output-guardrails.ts';
import { ledgerStage } from './stages/ledger.ts';
import { modelsStage } from './stages/models.ts';
import { observeStage } from './stages/observe.ts';
import { policyStage } from './stages/policy.ts';
import { feedbackStage } from './stages/feedback.ts';
import { capabilitiesStage } from './stages/capabilities.ts';
import { resolveStage, selectVariant } from './stages/resolve.ts';
import { responsesDialectStage } from './stages/responses-dialect.ts';
import { messagesDialectStage } from './stages/messages-dialect.ts';
import { storedResponsesStage } from './stages/stored-responses.ts';
import { ResponseStore } from './responses/response-store.ts';
import { killSwitchStage } from './stages/kill-switch.ts';
import { routeStage } from './stages/route.ts';
import { validateStage } from './stages/validate.ts';
import { createStore, type StoreConfig } from './store/create-store.ts';
import { RedisStore } from './store/redis-store.ts';
import { EndPhaseBatcher, RoundTrip } from './store/round-trip.ts';
import { createAttemptHandler } from './upstream/attempt-handler.ts';
import { AttemptLog } from './upstream/attempt-log.ts';
import type { Store } from './store/store.ts';

export interface TollgateOptions {
  config: TollgateConfig;
  /** When given, edits of this file are picked up without a restart (also POST /admin/v1/config/reload). */
  configPath?: string;
  /** Provider base URL overrides (the demo provider of `npm start`). */
  providerBaseUrls?: Record<string, string>;
  /** Plaintext keys known at start besides config and store (the demo key). */
  extraKeys?: Array<{ key: string; org: string; team: string; app: string; id: string }>;
  /** Where Envoy reads its watched routes/clusters; Tollgate rewrites them when the config changes. */
  envoy?: { dir: string; adminUrl: string };
  /** Ports override config (0 = any free port, for tests). */
  extprocPort?: number;
  adminPort?: number;
  store?: Store;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface Tollgate {
  extprocPort: number;
  adminPort: number;
  keys: KeyStore;
  store: Store;
  metrics: GatewayMetrics;
  config: ConfigHolder;
  ledger: Ledger | null;
  reload(): Promise<{ changed: boolean }>;
  stop(): Promise<void>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function staticKeysOf(config: TollgateConfig, extra: TollgateOptions['extraKeys'], env: NodeJS.ProcessEnv): StaticKeys {
  const keys: StaticKeys = new Map();
  config.keys.forEach((entry, index) => {
    const hash = entry.sha256 ?? (entry.key_env && env[entry.key_env] ? sha256(env[entry.key_env] as string) : null);
    if (hash) keys.set(hash, { id: `config:${entry.name ?? index}`, org: entry.org, team: entry.team, app: entry.app });
  });
  for (const key of extra ?? []) keys.set(sha256(key.key), { id: key.id, org: key.org, team: key.team, app: key.app });
  return keys;
}

function storeConfig(config: TollgateConfig, env: NodeJS.ProcessEnv): StoreConfig {
  if (config.store.type === 'memory') return { type: 'memory' };
  const url = config.store.url ?? (config.store.url_env ? env[config.store.url_env] : undefined);
  if (!url) throw new ConfigError('store', [`store.url_env: ${config.store.url_env} is not set`]);
  // A store call must fail while Envoy still waits for our answer, so the client gets Tollgate's clear 503
  // rather than Envoy's ext_proc timeout.
  return { type: 'redis', url, commandTimeoutMs: Math.max(50, Math.floor(config.envoy.message_timeout_ms / 2)) };
}

/** Starts Tollgate: the ext_proc gRPC service and the admin HTTP server, wired from the config. */
export async function startTollgate(options: TollgateOptions): Promise<Tollgate> {
  const env = options.env ?? process.env;
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const logger = options.logger ?? createLogger(options.config.logging.level);
  const config = new ConfigHolder(options.config, options.providerBaseUrls);
  // Policy as code (null without a `policy` section); a bad bundle at start fails the start, never opens the gate.
  const policy = options.config.policy ? await startPolicyRuntime(options.config.policy, { logger }) : null;
  const credentials = new CredentialResolver({ env });
  await credentials.preload(Object.values(options.config.providers));
  let lastStoreWarning = 0;
  const store = options.store ?? createStore(storeConfig(options.config, env), {
    // The client reports every failed reconnect; one warning per 10 s says enough.
    onError: (error) => {
      if (Date.now() - lastStoreWarning < 10_000) return;
      lastStoreWarning = Date.now();
      logger.warn({ err: error }, 'store unavailable');
    },
  });
  // Verified keys stay in process (no store round trip per request); every process drops a key the moment any
  // of them revokes, rotates or deletes it (store pub/sub). The age bound only covers a lost message.
  const keys = new KeyStore({ store, now: () => Date.now(), cache: { maxAgeMs: 60_000, maxEntries: 100_000 } });
  await keys.start();
  const metrics = new GatewayMetrics();
  // OpenTelemetry spans (config `tracing`, fixed at start like Envoy's tracer); null when off: nothing is traced.
  const tracing = options.config.tracing.enabled ? new Tracing(options.config.tracing, env, logger) : null;
  // Usage records (null when ledger.sink is none); its queue is a Redis Stream with the Redis store, in-process otherwise.
  const ledger = await startLedger({ config: options.config.ledger, store, env, logger, now: () => Date.now() });
  let staticKeys = staticKeysOf(options.config, options.extraKeys, env);
  let revision = 1;
  let boundExtprocPort = options.config.extproc.port;

  const attempts = new AttemptLog();
  const killSwitches = new KillSwitches({ store, logger });
  await killSwitches.start(options.config.routing.kill_switch_refresh_ms);
  // Exact + semantic response cache: Redis through the store's client when the store is Redis, else in memory.
  // The embedding model's client: the semantic cache and semantic routing share it.
  const embedder = options.config.cache.embeddings_model
    ? new ProviderEmbedder({ config, credentials, providerBaseUrls: options.providerBaseUrls })
    : null;
  const cache = cacheStages({
    config,
    backend: createCacheBackend(options.config, store),
    embedder,
    logger,
    metrics,
  });
  // Token buckets and budgets: Lua on the store's Redis (one call to reserve, one to settle), in process otherwise.
  const quota = await createQuota({ config, store, metrics, logger, env, ledger });
  // Budget remaining and burn rate gauges, read from the ledger on scrape (at most once a minute).
  registerBudgetGauges({ registry: metrics.registry, ledger, quotas: () => config.catalog().config.quotas, now: () => Date.now() });
  // A request whose process died never settles: once the ledger closes its record as orphaned, its reservation goes.
  ledger?.onOrphaned((records) => quota.releaseOrphans(records));
  const redisClient = store instanceof RedisStore ? store.client : null;
  // End phases of many requests share one pipeline (src/store/round-trip.ts).
  const storeSection = options.config.store;
  const endPhaseBatcher = redisClient
    ? new EndPhaseBatcher(redisClient, { windowMs: storeSection.type === 'redis' ? storeSection.end_phase_batch_ms ?? 5 : 0 })
    : null;
  for (const guardrail of options.config.guardrails.external) {
    if (guardrail.applies_to !== 'input') logger.warn({ guardrail: guardrail.name }, 'external guardrails check requests only for now: answers are not sent to it');
  }
  // The Responses API's store (config `responses.store`): in the gateway's store, so Redis when the store is Redis.
  const responseStoreInstance = new ResponseStore(store, () => (config.catalog().config.responses?.ttl_seconds ?? 2_592_000) * 1000);
  const responseStore = () => (config.catalog().config.responses?.store ? responseStoreInstance : null);
  const outputGuardrails = outputGuardrailsStage({ config: () => config.catalog().config.guardrails.output, metrics });
  // Failed authentications per client address (limits re-read on every failure, so a config reload applies).
  // Counted in the store, so the limit holds across every process sharing it; blocks are published to all of them.
  const authFailures = new AuthFailureLimiter(() => config.catalog().config.auth?.failure_limit ?? DEFAULT_FAILURE_LIMIT, Date.now, store);
  await authFailures.start();
  const newHandler = timedHandlers(createPipeline({
    logger,
    now,
    // Fixed at start, like the Envoy bootstrap it must match.
    eagerRequestBody: eagerRequestBody(options.config),
    ...(tracing ? { tracing } : {}),
    jsonLimits: () => {
      const requests = config.catalog().config.requests;
      return { maxDepth: requests?.max_json_depth ?? 64, maxValues: requests?.max_json_values ?? 100_000 };
    },
    // One Redis round trip per phase for every stage that talks to the store (src/store/round-trip.ts).
    ...(redisClient ? { newRoundTrip: () => new RoundTrip(redisClient, endPhaseBatcher) } : {}),
    stages: [
      authStage({ keys, staticKeys: () => staticKeys, config, failures: authFailures }),
      validateStage({ responseStore }),
      storedResponsesStage({ responseStore }),
      modelsStage({ config, now: () => Date.now() }),
      // POST /v1/feedback: a score on one of the app's answers, kept in the usage ledger.
      feedbackStage({ sink: ledger?.sink ?? null }),
      // Model alias → candidate providers; the stages after it may narrow them (guardrails, policy, kill switches).
      resolveStage({ config }),
      // Requests that need tools, images, a JSON schema, reasoning or a long context: only capable candidates stay.
      capabilitiesStage(),
      killSwitchStage({ switches: killSwitches }),
      // PII findings first, then the external guardrails (their Presidio values join them), then the policy decides
      // with both (deny, narrow providers/region, redact, cap, cache). Without a guardrail for the request the
      // external stage returns at once; without a policy each guardrail's own action blocks or flags.
      ...(policy ? [guardrailsStage()] : []),
      externalGuardrailsStage({
        config: () => config.catalog().config.guardrails.external,
        env,
        metrics,
        policyDecides: policy !== null,
      }),
      ...(policy ? [policyStage({
        bundle: () => policy.holder.current(),
        audit: (record) => policy.audit.append(record),
        failMode: () => policy.failMode,
        now: () => Date.now(),
        selectVariant: (ctx, variant) => selectVariant(config, ctx, variant),
      })] : []),
      // Reserves the estimate in every quota scope: after every stage that narrows the candidates (priced at the
      // dearest allowed one) or caps max_tokens, and after the ones that may refuse, so a refusal reserves nothing.
      // Keeps the client's OpenAI request for the cache key (route replaces ctx.body with the provider's form) and
      // queues the exact lookup, which then leaves in the same Redis round trip as the quota reservation.
      cache.before,
      quota.reserve,
      // Chooses among the allowed candidates, translates per provider (a count_tokens request goes to an Anthropic or
      // Gemini provider's own count, or is estimated here; cache and quota let it by: a count is free, no answer);
      // on the way back it translates the response
      // to OpenAI format first, so the stages after it (cache, quota, observe) always read OpenAI.
      routeStage({ config, credentials, attempts, prices: quota.prices, embedder, modelSwitchedOff: (model) => killSwitches.isOn('model', model) }),
      // Answers are OpenAI format from here on: masks or stops personal data and secrets before the cache sees them.
      outputGuardrails,
      // Hits answer here, before any provider call; misses are stored once complete (OpenAI format, after route).
      cache.after,
      // Settles the real usage and sets ctx.cost (OpenAI-format chunks and usage, after route; before the ledger).
      quota.settle,
      // After every stage that may reject or settle (it reads ctx.cost): one usage record per admitted request.
      ...(ledger ? [ledgerStage({ entries: ledger.entries, logger })] : []),
      observeStage({ metrics, logger }),
      // Last: every stage above reads chat answers; a /v1/responses client gets them as Responses (and its events).
      responsesDialectStage({ logger, responseStore }),
      // Likewise for Anthropic's /v1/messages: chat answers, chunks and error bodies in Anthropic's form.
      messagesDialectStage(),
    ],
  }), 'request', metrics.extprocPhase);

  async function reload(): Promise<{ changed: boolean }> {
    if (!options.configPath) throw errors.badRequest('Tollgate was started without a config file to reload.');
    let next: TollgateConfig;
    try {
      next = loadConfigFile(options.configPath);
    } catch (error) {
      logger.error({ err: error }, 'config reload rejected; keeping the running config');
      if (error instanceof ConfigError) throw errors.badRequest(error.message, null, 'invalid_config');
      throw error;
    }
    if (JSON.stringify(next) === JSON.stringify(config.catalog().config)) return { changed: false };
    if (options.envoy) {
      // Envoy first: new providers must have their clusters and routes before Tollgate sends traffic to them.
      // The bootstrap names the ext_proc port actually bound (tests bind port 0).
      const bound = { ...next, extproc: { ...next.extproc, port: boundExtprocPort } };
      const rendered = renderEnvoyConfig(bound, { dir: options.envoy.dir, providerBaseUrls: options.providerBaseUrls });
      const changedFiles = await writeEnvoyConfig(options.envoy.dir, rendered);
      if (changedFiles.includes('envoy.yaml')) {
        logger.warn('the Envoy bootstrap changed (listener, timeouts or limits): restart Envoy to apply it');
      }
      const loaded = await waitForEnvoyResources(options.envoy.adminUrl, rendered.versions);
      if (!loaded) logger.warn('Envoy did not confirm the new routes/clusters in time; switching anyway');
    }
    await credentials.preload(Object.values(next.providers));
    config.replace(next);
    if (next.routing.kill_switch_refresh_ms !== options.config.routing.kill_switch_refresh_ms) await killSwitches.start(next.routing.kill_switch_refresh_ms);
    staticKeys = staticKeysOf(next, options.extraKeys, env);
    revision += 1;
    logger.info({ revision }, 'config reloaded');
    return { changed: true };
  }

  const extproc = await startExtProcServer({
    address: options.config.extproc.address,
    port: options.extprocPort ?? options.config.extproc.port,
    socketPath: options.config.extproc.socket_path,
    transport: options.config.extproc.transport,
    newHandler,
    newAttemptHandler: timedHandlers(createAttemptHandler({ config, credentials, attempts, logger, ...(tracing ? { tracing } : {}) }), 'upstream', metrics.extprocPhase),
    logger,
  });
  boundExtprocPort = extproc.port;
  warnIfAdminExposed(options.config.admin.address, logger);
  const admin = await startAdminServer({
    address: options.config.admin.address,
    port: options.adminPort ?? options.config.admin.port,
    adminToken: () => env[config.catalog().config.admin.token_env]?.trim() || null,
    store,
    keys,
    config,
    metrics,
    logger,
    reloadConfig: reload,
    killSwitches,
    ledger,
    policy: policy ? { holder: policy.holder, audit: policy.audit } : null,
    quotaRebuild: quota.rebuild,
    status: () => ({ config_revision: revision, policy: policy ? policy.holder.status() : { status: 'not_configured' } }),
  });

  let watcher: FileChangeWatch | null = null;
  if (options.configPath) {
    let timer: NodeJS.Timeout | null = null;
    watcher = watchFileChanges(options.configPath, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void reload().catch(() => undefined), 150);
    });
  }

  return {
    extprocPort: extproc.port,
    adminPort: admin.port,
    keys,
    store,
    metrics,
    config,
    ledger,
    reload,
    async stop() {
      watcher?.close();
      credentials.stop();
      killSwitches.stop();
      await Promise.all([extproc.stop(), admin.stop()]);
      await quota.close();
      await keys.stop();
      await endPhaseBatcher?.flush();
      await authFailures.stop();
      // After the servers: requests that ended during shutdown have queued their final entries.
      await ledger?.stop();
      await policy?.stop();
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'last spans not exported'));
      if (!options.store) await store.close();
    },
  };
}

/** True for addresses only this machine can reach. */
export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address.startsWith('unix:');
}

/**
 * The admin API (keys, kill switches, policies and usage behind the admin token; /metrics and /healthz without it)
 * binds to loopback by default. Anything else is allowed (a Kubernetes probe needs the pod's address) but said
 * loudly at every start, so it is a decision and never an accident.
 */
function warnIfAdminExposed(address: string, logger: Logger): void {
  if (isLoopbackAddress(address)) return;
  const message =
    `ADMIN API EXPOSED: admin.address is ${address}, not loopback. /metrics and /healthz answer anyone who can reach ` +
    'it and /admin/v1 (keys, kill switches, policies) is one admin token away. Restrict it with a firewall or ' +
    'NetworkPolicy, or bind it to 127.0.0.1.';
  logger.warn({ admin_address: address, security: 'admin_exposed' }, message);
  process.emitWarning(message, { code: 'TOLLGATE_ADMIN_EXPOSED' });
}
