import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { validateConfig } from '../../src/config/load-config.ts';
import { DEFAULT_FORWARD_HEADERS } from '../../src/config/schema.ts';
import type { TollgateConfig } from '../../src/config/types.ts';
import { envoyBinary, startEnvoy, waitForEnvoyReady, type EnvoyProcess } from '../../src/envoy/envoy-process.ts';
import { renderEnvoyConfig } from '../../src/envoy/render-envoy-config.ts';
import { writeEnvoyConfig } from '../../src/envoy/write-envoy-config.ts';
import { startTollgate, type Tollgate } from '../../src/gateway.ts';
import type { UsageRecord } from '../../src/ledger/usage-record.ts';
import type { Store } from '../../src/store/store.ts';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai-provider.ts';
import { freePort } from './free-port.ts';
import { promptTexts, reportLeaks, scanForLeaks } from './leak-scan.ts';
import { createLogger } from '../../src/observability/logger.ts';

/** Client headers that steer the fake providers (faults, pacing); the harness's config forwards them. */
export const FAKE_CONTROL_HEADERS = ['x-fake-fault', 'x-fake-chunk-delay-ms'] as const;
export const PROVIDER_KEY = 'sk-fake-provider-key';
export const ADMIN_TOKEN = 'test-admin-token';
/** Providers with this base URL are pointed at the harness's fake provider. */
export const PLACEHOLDER_URL = 'http://placeholder/v1';
const projectRoot = resolve(import.meta.dirname, '../..');

/** A config for tests: one OpenAI-compatible provider, two teams, ports filled in by the harness. */
export function testConfig(): Record<string, unknown> {
  return {
    logging: { level: 'silent' },
    providers: { openai: { type: 'openai', base_url: PLACEHOLDER_URL, api_key_env: 'TEST_OPENAI_KEY' } },
    models: {
      'gpt-4o-mini': { provider: 'openai', kind: 'chat' },
      'gpt-4o': { provider: 'openai', kind: 'chat' },
      'fast-chat': { provider: 'openai', kind: 'chat', upstream_model: 'gpt-4o-mini' },
      'text-embedding-3-small': { provider: 'openai', kind: 'embeddings' },
    },
    orgs: {
      acme: {
        teams: {
          platform: { apps: { playground: {}, batch: { models: ['gpt-4o-mini'] } } },
          research: { models: ['gpt-4o-mini', 'text-embedding-3-small'], apps: { notebook: {} } },
        },
      },
    },
  };
}

export interface Harness {
  baseUrl: string;
  envoyAdminUrl: string;
  adminUrl: string;
  fake: FakeOpenAI;
  tollgate: Tollgate;
  envoy: EnvoyProcess;
  configPath: string;
  /** A key of acme/platform/playground. */
  key: string;
  client(key?: string, options?: { maxRetries?: number; timeout?: number; tls?: ClientTls }): OpenAI;
  createKey(team: string, app: string): Promise<string>;
  /**
   * The request's usage record once it reached `state` (final by default) in the ledger's sink, waiting up to 10 s
   * for the ledger's flush; what the sink holds then (or null) when it never does.
   */
  ledgerRecord(requestId: string, state?: UsageRecord['state']): Promise<UsageRecord | null>;
  /** Rewrites the config file (Tollgate picks it up and re-renders Envoy's routes/clusters). */
  writeConfig(config: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** What a client trusts (and presents, for mTLS) when the listener serves TLS. */
export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** An OpenAI SDK client whose connections trust `tls.ca` (and present a client certificate when given). */
export function tlsClient(baseURL: string, apiKey: string, tls: ClientTls, options: { maxRetries?: number; timeout?: number } = {}): OpenAI {
  const dispatcher = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key } });
  return new OpenAI({
    apiKey, baseURL, maxRetries: options.maxRetries ?? 0, timeout: options.timeout ?? 10_000,
    fetch: undiciFetch as unknown as typeof globalThis.fetch,
    fetchOptions: { dispatcher } as unknown as NonNullable<ConstructorParameters<typeof OpenAI>[0]>["fetchOptions"],
  });
}

export interface HarnessOptions {
  /** The client TLS settings `client()` uses when the config's listener has `tls`. */
  clientTls?: ClientTls;
  config?: Record<string, unknown>;
  /** Tollgate's logger (default: silent, or TOLLGATE_TEST_LOG=level). */
  logger?: Logger;
  store?: Store;
  fake?: FakeOpenAIOptions;
  envoyLogLevel?: string;
  /** Sees every line Envoy prints. */
  onEnvoyOutput?: (line: string) => void;
}

/**
 * Starts the harness. Ports are picked free and bound a moment later by Envoy; when a parallel test took one in
 * between, Envoy cannot bind, and the whole harness starts again on new ports (a few times at most).
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHarnessOnce(options);
    } catch (error) {
      if (attempt >= 3 || !(error as Error).message.includes('Address already in use')) throw error;
    }
  }
}

async function startHarnessOnce(options: HarnessOptions): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-e2e-'));
  const fake = await startFakeOpenAI({ apiKey: PROVIDER_KEY, ...options.fake });
  const [listenerPort, envoyAdminPort] = [await freePort(), await freePort()];
  const raw = structuredClone(options.config ?? testConfig());
  raw.listener = { ...(raw.listener as object | undefined), address: '127.0.0.1', port: listenerPort };
  raw.envoy = { ...(raw.envoy as object), admin: { address: '127.0.0.1', port: envoyAdminPort } };
  raw.extproc = { ...(raw.extproc as object), address: '127.0.0.1', port: 0 };
  raw.admin = { address: '127.0.0.1', port: 0, token_env: 'TEST_ADMIN_TOKEN' };
  // Many tests send wrong keys on purpose from 127.0.0.1: the failed-authentication limit is off unless a test
  // configures it (test/e2e/auth-failures.test.ts does).
  const auth = (raw.auth ?? {}) as { failure_limit?: object };
  raw.auth = { ...auth, failure_limit: auth.failure_limit ?? { enabled: false } };
  // The fakes' fault injection travels in client headers, which the gateway forwards only when allow-listed.
  const requests = (raw.requests ?? {}) as { forward_headers?: string[] };
  raw.requests = { ...requests, forward_headers: requests.forward_headers ?? [...DEFAULT_FORWARD_HEADERS, ...FAKE_CONTROL_HEADERS] };
  for (const provider of Object.values(raw.providers as Record<string, { base_url: string }>)) {
    if (provider.base_url === PLACEHOLDER_URL) provider.base_url = fake.url;
  }
  const configPath = join(dir, 'tollgate.yaml');
  await writeFile(configPath, stringify(raw));
  const config: TollgateConfig = validateConfig(structuredClone(raw), configPath);

  const envoyDir = join(dir, 'envoy');
  const envoyAdminUrl = `http://127.0.0.1:${envoyAdminPort}`;
  const tollgate = await startTollgate({
    config,
    configPath,
    envoy: { dir: envoyDir, adminUrl: envoyAdminUrl },
    store: options.store,
    // The production logger (its redaction included), writing to a file the leak scan reads at stop.
    logger: options.logger ?? createLogger(process.env.TOLLGATE_TEST_LOG ?? 'info', pino.destination({ dest: join(dir, 'tollgate.log'), sync: true })),
    env: { ...process.env, TEST_OPENAI_KEY: PROVIDER_KEY, TEST_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  // Envoy must reach the ext_proc port Tollgate actually bound.
  const envoyConfig = validateConfig({ ...structuredClone(raw), extproc: { ...(raw.extproc as object), address: '127.0.0.1', port: tollgate.extprocPort } });
  await writeEnvoyConfig(envoyDir, renderEnvoyConfig(envoyConfig, { dir: envoyDir }));
  const envoyOutput: string[] = [];
  const envoy = startEnvoy({
    binary: envoyBinary(projectRoot),
    configPath: join(envoyDir, 'envoy.yaml'),
    logLevel: options.envoyLogLevel ?? 'warn',
    onOutput: (line) => {
      envoyOutput.push(line);
      options.onEnvoyOutput?.(line);
    },
  });
  try {
    await waitForEnvoyReady(envoyAdminUrl, envoy);
  } catch (error) {
    await envoy.stop();
    await tollgate.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${envoyOutput.join('\n')}`);
  }

  const adminUrl = `http://127.0.0.1:${tollgate.adminPort}`;
  const scheme = (raw.listener as { tls?: object }).tls ? 'https' : 'http';
  const baseUrl = `${scheme}://127.0.0.1:${listenerPort}/v1`;
  // What must never be written anywhere: keys and tokens, and every prompt the provider received (kept across the
  // fake's resets between tests).
  const createdKeys: string[] = [];
  const receivedBodies: unknown[] = [];
  const resetFake = fake.reset.bind(fake);
  fake.reset = () => {
    receivedBodies.push(...fake.requests.map((request) => request.body));
    resetFake();
  };
  const harness: Harness = {
    baseUrl,
    envoyAdminUrl,
    adminUrl,
    fake,
    tollgate,
    envoy,
    configPath,
    key: '',
    client: (key = harness.key, clientOptions = {}) => {
      const tls = clientOptions.tls ?? options.clientTls;
      if (tls) return tlsClient(baseUrl, key, tls, clientOptions);
      return new OpenAI({ apiKey: key, baseURL: baseUrl, maxRetries: clientOptions.maxRetries ?? 0, timeout: clientOptions.timeout ?? 10_000 });
    },
    async createKey(team, app) {
      const created = await tollgate.keys.create({ org: 'acme', team, app, name: null, expiresAt: null });
      createdKeys.push(created.key);
      return created.key;
    },
    async ledgerRecord(requestId, state = 'final') {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const record = await tollgate.ledger?.sink.get(requestId);
        if (record?.state === state || Date.now() > deadline) return record ?? null;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async writeConfig(next) {
      const copy = structuredClone(next);
      copy.listener = raw.listener;
      copy.envoy = raw.envoy;
      copy.extproc = raw.extproc;
      copy.admin = raw.admin;
      const nextAuth = (copy.auth ?? {}) as { failure_limit?: object };
      copy.auth = { ...nextAuth, failure_limit: nextAuth.failure_limit ?? { enabled: false } };
      const nextRequests = (copy.requests ?? {}) as { forward_headers?: string[] };
      copy.requests = { ...nextRequests, forward_headers: nextRequests.forward_headers ?? [...DEFAULT_FORWARD_HEADERS, ...FAKE_CONTROL_HEADERS] };
      for (const provider of Object.values(copy.providers as Record<string, { base_url: string }>)) {
        if (provider.base_url === PLACEHOLDER_URL) provider.base_url = fake.url;
      }
      await writeFile(configPath, stringify(copy));
    },
    async stop() {
      await envoy.stop();
      await tollgate.stop();
      await writeFile(join(dir, 'envoy.log'), envoyOutput.join('\n'));
      receivedBodies.push(...fake.requests.map((request) => request.body));
      const leaks = await scanForLeaks(dir, {
        secrets: [PROVIDER_KEY, ADMIN_TOKEN, ...createdKeys],
        prompts: promptTexts(receivedBodies),
      });
      await reportLeaks(configPath, leaks);
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  harness.key = await harness.createKey('platform', 'playground');
  return harness;
}
